"""Schemathesis (another project's tool) against every HTTP API of the running system: no 5xx,
and no response that contradicts the API's own OpenAPI document, for generated valid and
invalid requests, undeclared methods and stateful sequences.

Excluded, with reasons: `positive_data_acceptance` (a schema-valid kecamatan or village code
may still not exist in the region directory, a domain check the schema cannot carry: 422 is
the documented answer). Requests carry a valid credential (intake: a key of an agency that may
report from anywhere; projection and access: a person's token); Schemathesis also checks that
every endpoint that declares a security scheme refuses requests without it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from desk_testing.people import person_token
from desk_testing.system import RunningSystem

pytestmark = pytest.mark.system

SECONDS_PER_API = 25


@pytest.mark.parametrize("api", ["intake", "projection", "access"])
def test_no_server_error_and_no_answer_against_the_schema(system: RunningSystem, api: str, tmp_path: Path) -> None:
    base = getattr(system, api)
    credentials = {"intake": lambda: system.key, "projection": lambda: system.token,
                   "access": lambda: person_token(system.bus, "fuzz-person")}  # its own: a logout may end it
    credential = credentials[api]()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "st"), "run", f"{base}/openapi.json", "--checks", "all",
         "--exclude-checks", "positive_data_acceptance", "--max-time", str(SECONDS_PER_API), "--workers", "2",
         "--seed", "14", "--no-color", "--header", f"Authorization: Bearer {credential}"],
        capture_output=True, text=True, timeout=SECONDS_PER_API + 120, cwd=tmp_path)
    report = result.stdout[:4000] + "\n[...]\n" + result.stdout[-4000:] + result.stderr[-2000:]  # failures come first
    assert result.returncode == 0, report
    counted = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counted is not None and int(counted[1]) == int(counted[2]) > 100, report
