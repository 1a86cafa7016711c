"""How one attempt on one channel went."""

from __future__ import annotations

from dataclasses import dataclass

_RETRYABLE_HTTP_CLIENT_ERRORS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    final: bool
    """Delivered, or refused in a way no retry mends."""
    code: int | None
    """The channel's answer (an HTTP status, an SMTP reply code); None when none came."""
    reason: str
    unconfirmed: bool = False
    """Counted as delivered without proof: it may have gone out before a crash, and its channel
    cannot say (sending it again could make a second alert)."""

    @classmethod
    def http(cls, status: int, detail: str | None = None) -> Attempt:
        """2xx delivers; a client error other than a timeout or a rate limit is final; the rest may pass."""
        delivered = 200 <= status < 300
        final = delivered or (400 <= status < 500 and status not in _RETRYABLE_HTTP_CLIENT_ERRORS)
        return cls(delivered, final, status, f"HTTP {status}" + (f": {detail}" if detail else ""))

    @classmethod
    def sent(cls, code: int, reason: str = "sent") -> Attempt:
        return cls(True, True, code, reason)

    @classmethod
    def no_answer(cls, error: BaseException | str) -> Attempt:
        """No answer came (refused connection, timeout): worth another try."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return cls(False, False, None, error)

    @classmethod
    def refused(cls, code: int | None, reason: str, final: bool) -> Attempt:
        return cls(False, final, code, reason)

    @classmethod
    def maybe_sent(cls, reason: str) -> Attempt:
        return cls(True, True, None, reason, unconfirmed=True)
