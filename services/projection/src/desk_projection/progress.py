"""Moved to desk_shared.runtime.progress (the audit service shows the same display)."""

from desk_shared.runtime.progress import Progress, clock_text, render

__all__ = ["Progress", "clock_text", "render"]
