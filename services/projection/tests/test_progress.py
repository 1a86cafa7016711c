"""The rebuild's progress display."""

from __future__ import annotations

import io

from desk_projection.progress import Progress, clock_text, render


def test_render_with_a_bar_and_without() -> None:
    assert render("rebuild", 500_000, 1_000_000, 10_000, bar=True) == (
        "rebuild [##############..............]  50%  500,000/1,000,000 events  10,000 events/s  0:50 left")
    assert render("rebuild", 1_000, 4_000, None, bar=False) == "rebuild:  25%, 1,000/4,000 events"
    assert clock_text(3725) == "1:02:05"


def test_one_line_a_second_when_not_a_terminal() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(10_000, out, interactive=False, clock=lambda: now[0])
    for step in range(1, 31):  # 3 s of updates every 0.1 s, 100 events each
        now[0] = step / 10
        progress.update(step * 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[-1] == "rebuild:  21%, 2,100/10,000 events, 1,000 events/s, 0:08 left"  # drawn at 0.1, 1.1, 2.1 s
    progress.finish(10_000)
    assert out.getvalue().splitlines()[-1].endswith("100%, 10,000/10,000 events  in 0:03 (3,333 events/s)")


def test_redrawn_in_place_on_a_terminal() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(100, out, interactive=True, clock=lambda: now[0])
    for step in range(1, 6):
        now[0] = step
        progress.update(step * 10)
    progress.finish(100)
    text = out.getvalue()
    assert text.count("\r") == 6 and text.endswith("\n") and "\n" not in text[:-1]
