"""`desk-triage` / `python -m desk_triage`: run the triage service until SIGINT or SIGTERM."""

from __future__ import annotations

from desk_shared.service import serve
from desk_triage.service import run
from desk_triage.settings import TriageSettings


def main() -> None:
    settings = TriageSettings()
    serve("triage", lambda bus, stop: run(settings, bus, stop))


if __name__ == "__main__":
    main()
