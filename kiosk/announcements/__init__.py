"""Recorded announcements over the music.

``MessageAnnouncer`` plays the messages that ``AnnouncementsConfig`` schedules (and the
``announce`` command asks for), one at a time on its own thread, ducking the music under
them; a ``Voice`` (``VlcVoice``, or ``NullVoice`` in tests) plays the file.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "AnnouncementRule",
    "AnnouncementsConfig",
    "MessageAnnouncer",
    "NullVoice",
    "Schedule",
    "VlcVoice",
    "Voice",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "AnnouncementsConfig": "config",
        "AnnouncementRule": "config",
        "MessageAnnouncer": "announcer",
        "Schedule": "announcer",
        "Voice": "voice",
        "NullVoice": "voice",
        "VlcVoice": "voice",
    },
)
