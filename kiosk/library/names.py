"""What a playlist may be called and which files count as audio: one rule for the config,
the commands and the library."""

from __future__ import annotations

import re

# File name endings treated as audio unless ``music.extensions`` says otherwise.
AUDIO_EXTENSIONS = (".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".aac")

# A playlist is a folder under the music root: a printable name of 1 to 64 characters
# without a path separator. Commands validate against the pattern, the config through
# ``check_playlist_name``; whether the playlist exists is the core's business.
PLAYLIST_NAME_PATTERN = r"^[^\x00-\x1f/\\]{1,64}$"
_PLAYLIST_NAME = re.compile(PLAYLIST_NAME_PATTERN)


def check_playlist_name(name: str) -> str:
    """``name`` unchanged when it can name a playlist folder, else ``ValueError``."""
    if not name.strip() or not _PLAYLIST_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"{name!r} is not a folder name under music/")
    return name
