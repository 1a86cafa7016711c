"""`desk-notify` / `python -m desk_notify`: run the notify service until SIGINT or SIGTERM."""

from __future__ import annotations

from desk_notify.bootstrap import run
from desk_notify.settings import NotifySettings
from desk_shared.runtime.process import serve


def main() -> None:
    settings = NotifySettings()
    serve("notify", lambda bus, stop: run(settings, bus, stop))


if __name__ == "__main__":
    main()
