"""Reading the demo's story from the daemon's log (service.log_format: text).

Shared by the quick-start test and the platform checks, which run the README's first command
on this machine and in fresh Debian roots and must see the same story.
"""

from __future__ import annotations

import shlex


def log_records(text: str) -> list[dict[str, str]]:
    """The daemon's key=value log lines as dicts."""
    out = []
    for line in text.splitlines():
        if not line.startswith("ts="):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        out.append(dict(w.split("=", 1) for w in words if "=" in w))
    return out


def switches(text: str) -> list[dict[str, str]]:
    """The ``playlist switch`` records, in order."""
    return [x for x in log_records(text) if x.get("msg") == "playlist switch"]


def assert_demo_story(text: str) -> None:
    """Visitors come in and the music follows their mood; they leave and it goes back."""
    found = switches(text)
    reasons = [(x.get("dst"), x.get("reason")) for x in found]
    assert reasons[:3] == [
        ("background", "startup"),
        ("happy", "mood"),  # visitors came in: a mood-driven switch
        ("background", "no_audience"),  # they left: back to the no-audience playlist
    ], reasons
    assert found[1]["mood"] == "happy"
    assert any(x.get("msg") == "stopping" for x in log_records(text))
    assert "demo day, morning" in text
