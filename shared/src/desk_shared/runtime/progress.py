"""A progress display for long work over the log (a rebuild, a verification): events done, rate and time left.

On a terminal it is one line redrawn in place, with a bar; elsewhere (logs, CI) one line
every `interval` seconds. The rate is taken over the last `window` seconds, so the time
left follows the current speed rather than the average since the start."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 28


def clock_text(seconds: float) -> str:
    seconds = max(int(seconds + 0.5), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def render(label: str, done: int, total: int, rate: float | None, *, bar: bool) -> str:
    """`rebuild [#####.....]  50%  500,000/1,000,000 events  10,000 events/s  0:50 left`."""
    share = min(done / total, 1.0) if total else 1.0
    parts = [f"{share:4.0%}", f"{done:,}/{total:,} events"]
    if rate:
        parts += [f"{rate:,.0f} events/s", f"{clock_text((total - done) / rate)} left" if done < total else "done"]
    if bar:
        filled = round(share * BAR_WIDTH)
        return f"{label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] " + "  ".join(parts)
    return f"{label}: " + ", ".join(parts)


class Progress:
    def __init__(self, total: int, out: TextIO, *, label: str = "rebuild", interactive: bool | None = None,
                 interval: float | None = None, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._total = total
        self._out = out
        self._label = label
        self._interactive = out.isatty() if interactive is None else interactive
        self._interval = interval if interval is not None else (0.2 if self._interactive else 1.0)
        self._window = window
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()
        self._shown_at: float | None = None
        self._start = clock()

    def rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else None

    def update(self, done: int) -> None:
        """Note that `done` events are applied; draw when a line is due."""
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        if self._shown_at is None or now - self._shown_at >= self._interval:
            self._show(render(self._label, done, self._total, self.rate(), bar=self._interactive))
            self._shown_at = now

    def finish(self, done: int) -> None:
        """The last line: how many, in how long, at what average rate."""
        elapsed = self._clock() - self._start
        rate = done / elapsed if elapsed > 0 else None
        line = render(self._label, done, self._total, None, bar=self._interactive)
        line += f"  in {clock_text(elapsed)}" + (f" ({rate:,.0f} events/s)" if rate else "")
        self._show(line)
        if self._interactive:
            self._out.write("\n")
        self._out.flush()

    def _show(self, line: str) -> None:
        if self._interactive:
            self._out.write(f"\r{line}\x1b[K")
        else:
            self._out.write(line + "\n")
        self._out.flush()
