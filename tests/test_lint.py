"""The code base stays `ruff` clean."""

import subprocess
import sys
from pathlib import Path


def test_ruff_finds_nothing() -> None:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(root)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
