"""From faces to a decision: the crowd's mood and the playlist it calls for.

``MoodWindow`` turns the faces of recent samples into one ``MoodState``; ``Policy`` turns
that, the opening hours and dayparts (``schedule.py``) and any override into a ``Decision``
(which playlist, and why).
"""

from kiosk.exports import lazy_exports

__all__ = [
    "Decision",
    "MoodConfig",
    "MoodState",
    "MoodWindow",
    "Override",
    "Policy",
    "PolicyConfig",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "MoodConfig": "config",
        "PolicyConfig": "config",
        "MoodWindow": "window",
        "MoodState": "window",
        "Policy": "policy",
        "Decision": "policy",
        "Override": "policy",
    },
)
