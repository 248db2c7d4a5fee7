"""The music library: what can play, and in which playlist.

A playlist is a folder under the music root (``music_root``); ``Library`` lists its audio
files as ``Track``s. With ``music.analysis`` on, ``MusicViews`` adds the self-sorting
playlists (tracks of auto folders join the playlists nearest their mood estimate, staff
``Corrections`` win). ``BlockList`` holds the tracks never played. ``demo`` writes the
built-in demo tunes. The USB import that fills the music root is ``kiosk.usb_import``.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "AUDIO_EXTENSIONS",
    "PLAYLIST_NAME_PATTERN",
    "BlockEntry",
    "BlockList",
    "Catalog",
    "Corrections",
    "Library",
    "MusicConfig",
    "MusicViews",
    "SortingConfig",
    "Track",
    "check_playlist_name",
    "ensure_demo_library",
    "music_root",
    "read_track",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "MusicConfig": "config",
        "SortingConfig": "config",
        "music_root": "config",
        "AUDIO_EXTENSIONS": "names",
        "PLAYLIST_NAME_PATTERN": "names",
        "check_playlist_name": "names",
        "Library": "library",
        "Track": "tracks",
        "read_track": "tracks",
        "MusicViews": "views",
        "Catalog": "catalog",
        "Corrections": "sorting",
        "BlockList": "blocklist",
        "BlockEntry": "blocklist",
        "ensure_demo_library": "demo",
    },
)
