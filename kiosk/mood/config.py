"""Config for the crowd mood window and the playlist policy. (Owned by the mood engine.)"""

from kiosk.settings_base import Section


class MoodConfig(Section):
    """Crowd mood aggregation window."""


class PolicyConfig(Section):
    """Mood to playlist policy."""
