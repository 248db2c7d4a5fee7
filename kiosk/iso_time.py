"""ISO 8601 times that people type (``--start``, ``--from``), read alike on every Python.

``datetime.fromisoformat`` reads much more from Python 3.11 on (a trailing ``Z``, basic
format ``20261120T0900``, week dates, fractions of any length) than on 3.10. The kiosk
accepts one set everywhere: ``YYYY-MM-DD``, optionally followed by ``T`` or a space,
``HH:MM[:SS[.fraction]]`` and a zone ``Z``, ``±HH``, ``±HHMM`` or ``±HH:MM``.
"""

from __future__ import annotations

import re
from datetime import datetime

_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII | re.IGNORECASE,
)


def parse_iso(text: str) -> datetime:
    """A datetime (naive without a zone); ValueError if ``text`` is not one of the forms
    above or not a real time."""
    m = _ISO.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not an ISO time YYYY-MM-DD[THH:MM[:SS]][zone]")
    day, hh, mm, ss, frac, zone = m.groups()
    if hh is None:
        return datetime.fromisoformat(day)
    # The one spelling 3.10 reads: seconds, six fraction digits, ±HH:MM.
    clock = f"{hh}:{mm}:{ss or '00'}.{(frac or '').ljust(6, '0')}"
    if zone is None:
        offset = ""
    elif zone.upper() == "Z":
        offset = "+00:00"
    else:
        digits = zone[1:].replace(":", "")
        offset = f"{zone[0]}{digits[:2]}:{digits[2:] or '00'}"
    return datetime.fromisoformat(f"{day}T{clock}{offset}")
