"""Files written whole or not at all: written beside their place, then renamed over it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def replaced(path: Path, *, private: bool = False, sync: bool = False) -> Iterator[TextIO]:
    """A text file that replaces `path` when the block ends without an error (else `path` is left as it was).
    `private`: readable by its owner only; `sync`: on disk before the rename (state that must survive a crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            yield out
            if sync:
                out.flush()
                os.fsync(out.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
