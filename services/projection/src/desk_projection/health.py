"""What /health says: the projection's position against the log, and anything an operator must know.

- "error" (HTTP 503): the projection stopped applying because the log is not the one its
  position refers to, or the log ends before that position;
- "degraded": it is retrying something, it skipped events (the read models lack them), or
  NATS cannot be asked how far the log is;
- "ok" otherwise.
The lag is never clamped: when it cannot be trusted it is null."""

from __future__ import annotations

from dataclasses import dataclass

from desk_projection.responses import Health, RetryingInfo, SkippedInfo
from desk_shared.runtime.log_reader import ReaderStatus

ERROR, DEGRADED, OK = "error", "degraded", "ok"


@dataclass(frozen=True)
class SkippedSummary:
    count: int = 0
    last_seq: int | None = None
    last_event_type: str | None = None
    last_reason: str | None = None


def assess(position: int, last: int | None, reader: ReaderStatus, skipped: SkippedSummary) -> Health:
    problems: list[str] = []
    status = OK
    lag: int | None = None
    if reader.halted:
        status = ERROR
        problems.append(reader.halted)
    elif last is not None and last < position:
        status = ERROR
        problems.append(f"the log ends at sequence {last}, before this projection's position {position}: it is not "
                        "the log these read models were projected from; rebuild them into an empty database")
    elif last is not None:
        lag = last - position
    else:
        problems.append("NATS cannot be asked how far the log is: lag unknown")
    retrying = None
    if reader.retrying is not None:
        r = reader.retrying
        what = f"the event at sequence {r.seq}" if r.seq is not None else "writing to the database"
        limit = f" of {r.max_attempts}" if r.max_attempts else ""
        problems.append(f"retrying {what} (attempt {r.attempts}{limit} failed): {r.reason}")
        retrying = RetryingInfo(seq=r.seq, attempts=r.attempts, max_attempts=r.max_attempts, reason=r.reason)
    last_skipped = None
    if skipped.count:
        problems.append(f"{skipped.count} event(s) skipped (dead-lettered; the read models lack them), the latest at "
                        f"sequence {skipped.last_seq}: {skipped.last_reason}")
        last_skipped = SkippedInfo(seq=skipped.last_seq or 0, event_type=skipped.last_event_type,
                                   reason=skipped.last_reason or "")
    if status == OK and problems:
        status = DEGRADED
    return Health(status=status, position=position, stream_last_sequence=last, lag=lag,
                  detail="; ".join(problems) or None, skipped=skipped.count, last_skipped=last_skipped,
                  retrying=retrying)
