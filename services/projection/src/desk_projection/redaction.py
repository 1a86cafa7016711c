"""Personal data in free text, hidden from roles that do not need it.

A reporter's own details are sealed in the log and never reach these roles; what is left is what
people write into a report: phone numbers, NIK (16-digit identity numbers) and e-mail addresses.
Names cannot be found reliably by pattern and are not touched."""

from __future__ import annotations

import re

HIDDEN = "[disamarkan]"

_PATTERNS = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    re.compile(r"(?<![\d-])\d{4}[ .-]?\d{4}[ .-]?\d{4}[ .-]?\d{4}(?![\d-])"),  # NIK, also in groups of four
    re.compile(r"(?<![\w+])(?:\+62|62|0)[ .-]?8\d(?:[ .-]?\d){6,11}(?!\d)"),  # mobile numbers
    re.compile(r"(?<![\w+(])(?:\+62[ .-]?|\(?0)[1-9]\d{1,3}\)?[ .-]?\d{5,8}(?!\d)"),  # landlines, area code
)


def redact_personal(text: str) -> str:
    """`text` with every phone number, NIK and e-mail address replaced by a marker."""
    for pattern in _PATTERNS:
        text = pattern.sub(HIDDEN, text)
    return text
