"""The demo credentials as the start commands print them (newcomers and tools read these lines),
and the keys a state directory keeps."""

from __future__ import annotations

from pathlib import Path

from desk_access.private_files import write_private
from desk_audit.notes import SigningKey


def credential_lines(keys: dict[str, str], people: dict[str, dict[str, str]]) -> list[str]:
    return ([f"demo agency key ({code}): {token}" for code, token in keys.items()]
            + [f"demo person token ({p['role']}, login {login}): {p['token']}" for login, p in people.items()]
            + [f"demo login ({p['role']}): {login} / {p['password']}" for login, p in people.items()])


def key_kept(path: Path, name: str, kind: int) -> SigningKey:
    """A signing key made once per state directory."""
    if not path.exists():
        write_private(path, SigningKey.generate(name, kind).text() + "\n")
    return SigningKey.parse(path.read_text())
