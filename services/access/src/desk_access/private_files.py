"""Files only their owner may read (passwords, demo keys): written whole or not at all."""

from __future__ import annotations

from pathlib import Path

from desk_shared.files import replaced


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only."""
    with replaced(path, private=True) as out:
        out.write(text)
