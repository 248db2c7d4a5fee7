"""Config for the music library and the player. (Owned by the music/player work.)"""

from kiosk.settings_base import Section


class MusicConfig(Section):
    """Music library."""


class PlayerConfig(Section):
    """Audio player."""
