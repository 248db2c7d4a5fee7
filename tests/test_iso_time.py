"""Times typed on the command line are read the same on Python 3.10 to 3.13."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.iso_time import parse_iso

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", datetime(2026, 11, 20)),
        ("2026-11-20T09:00", datetime(2026, 11, 20, 9)),
        ("2026-11-20 09:00:30", datetime(2026, 11, 20, 9, 0, 30)),
        ("2026-11-20T09:00:30.5", datetime(2026, 11, 20, 9, 0, 30, 500000)),
        ("2026-11-20T09:00:30,25", datetime(2026, 11, 20, 9, 0, 30, 250000)),
        ("2026-11-20T09:00Z", datetime(2026, 11, 20, 9, tzinfo=UTC)),
        ("2026-11-20t09:00:00z", datetime(2026, 11, 20, 9, tzinfo=UTC)),
        ("2026-11-20T09:00+01", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T09:00-0530", datetime(2026, 11, 20, 14, 30, tzinfo=UTC)),
        ("2026-11-20T09:00:00+01:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
    ],
)
def test_the_accepted_forms(text, expected):
    got = parse_iso(text)
    assert got == expected and (got.tzinfo is None) == (expected.tzinfo is None)
    if got.tzinfo is not None:
        assert got.utcoffset() is not None and got.utcoffset() < timedelta(days=1)


@pytest.mark.parametrize(
    "text",
    [
        "20261120T0900",  # basic format: 3.11+ only in datetime
        "2026-W47-5",  # week date: 3.11+ only
        "2026-11-20T09",  # hour alone
        "2026-11-20T09:00:00.1234567",
        "2026-11-31",
        "2026-11-20T24:00",
        "2026-11-20T09:00+25:00",
        "٢٠٢٦-١١-٢٠",  # non-ASCII digits
        "",
        "now",
    ],
)
def test_other_forms_are_refused_on_every_python(text):
    with pytest.raises(ValueError):
        parse_iso(text)
