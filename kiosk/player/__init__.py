"""Playback: what the shop hears.

``create_player`` builds a backend from ``PlayerConfig``: ``vlc`` (libvlc, two decks for
crossfades, loudness levelling) or ``null`` (state only, for development and tests). Both
meet the ``Player`` protocol in ``base.py``; the core drives them with ``poll()``. Track
order inside a playlist is ``shuffle.PlayOrder`` or ``trajectory.TrajectoryOrder``;
``SkipLimiter`` caps staff skips. A new audio backend is a ``DeckPlayer`` subclass (see
``null.py``) chosen in ``player.py``.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "DeckPlayer",
    "Fade",
    "NullPlayer",
    "PlayOrder",
    "Player",
    "PlayerConfig",
    "PlayerError",
    "PlayerState",
    "SkipLimiter",
    "TrajectoryOrder",
    "VlcPlayer",
    "create_player",
    "track_gain_db",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "PlayerConfig": "config",
        "create_player": "player",
        "Player": "base",
        "PlayerState": "base",
        "PlayerError": "base",
        "Fade": "base",
        "DeckPlayer": "decks",
        "NullPlayer": "null",
        "VlcPlayer": "vlc",
        "PlayOrder": "shuffle",
        "TrajectoryOrder": "trajectory",
        "track_gain_db": "loudness_gain",
        "SkipLimiter": "skip_limit",
    },
)
