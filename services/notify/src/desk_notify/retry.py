"""When a webhook delivery is retried, and how long to wait. Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass

_RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    first_delay: float = 0.5
    max_delay: float = 8.0

    @staticmethod
    def delivered(status: int) -> bool:
        return 200 <= status < 300

    @staticmethod
    def retryable(status: int) -> bool:
        """Server errors, timeouts and rate limits may pass later; other client errors never will."""
        return not 400 <= status < 500 or status in _RETRYABLE_CLIENT_ERRORS

    def delay(self, failed_attempts: int, rng: random.Random) -> float:
        """Exponential back-off with jitter: between half and all of first_delay * 2^(n-1), capped,
        so liaisons' endpoints coming back are not hit by every alert at the same instant."""
        ceiling = min(self.first_delay * 2 ** max(failed_attempts - 1, 0), self.max_delay)
        return ceiling * (0.5 + rng.random() / 2)
