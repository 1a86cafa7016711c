"""The demo credentials as the start commands print them (newcomers and tools read these lines)."""

from __future__ import annotations


def credential_lines(keys: dict[str, str], people: dict[str, dict[str, str]]) -> list[str]:
    return ([f"demo agency key ({code}): {token}" for code, token in keys.items()]
            + [f"demo person token ({p['role']}, login {login}): {p['token']}" for login, p in people.items()]
            + [f"demo login ({p['role']}): {login} / {p['password']}" for login, p in people.items()])
