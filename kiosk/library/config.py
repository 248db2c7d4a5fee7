"""Config for the music library: where the playlists are, what counts as audio, the block
list and the self-sorting playlists (each playlist's place on the valence-arousal plane).

``music_root`` is the one way to find the live music folder from a loaded config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from kiosk.library.blocklist import BlockEntry
from kiosk.library.names import AUDIO_EXTENSIONS
from kiosk.settings_base import Section

if TYPE_CHECKING:
    from kiosk.config import LoadedConfig


class Place(Section):
    """A point on Russell's valence-arousal plane."""

    valence: float = Field(..., ge=-1, le=1, description="-1 negative .. +1 positive.")
    arousal: float = Field(..., ge=-1, le=1, description="-1 calm/low .. +1 excited/high.")


# Hand-placed on Russell's circumplex so that the policy's tables keep their sense: match
# sends an angry crowd to "energetic" (high arousal, slightly negative: Q2 tracks land
# there) and a sad one to "mellow" (low arousal, negative: Q3); uplift sends angry/fear to
# "calm" (positive, low: Q4). Happy/upbeat/uplifting share Q1 at falling arousal.
DEFAULT_PLACES: dict[str, tuple[float, float]] = {
    "happy": (0.7, 0.4),
    "upbeat": (0.5, 0.7),
    "energetic": (-0.2, 0.8),
    "uplifting": (0.6, 0.1),
    "calm": (0.3, -0.7),
    "mellow": (-0.4, -0.4),
    "background": (0.1, -0.2),
}


def _default_places() -> dict[str, Place]:
    return {k: Place(valence=v, arousal=a) for k, (v, a) in DEFAULT_PLACES.items()}


class SortingConfig(Section):
    """Tracks in auto folders join the playlist(s) nearest their mood estimate."""

    places: dict[str, Place] = Field(
        default_factory=_default_places,
        description="Playlist name -> its place on the valence-arousal plane. Only these "
        "playlists take estimated tracks; a playlist missing here keeps its folder only.",
    )
    auto_folders: list[str] = Field(
        ["unsorted"],
        description="Folders under music.root whose tracks are sorted by their estimate "
        "(the files stay where they are: playlists are views).",
    )
    join_margin: float = Field(
        0.15,
        ge=0,
        le=2,
        description="A track also joins every playlist no farther than the nearest one plus "
        "this distance (so a track between two moods serves both).",
    )
    pending_playlist: str | None = Field(
        "background",
        min_length=1,
        description="Auto-folder tracks whose analysis is not done yet play in this playlist "
        "until their estimate arrives, so a stick of unsorted music plays at once. null: "
        "they wait for their analysis.",
    )
    max_playlists: int = Field(
        2, ge=1, le=10, description="At most this many playlists per estimated track."
    )

    @field_validator("auto_folders")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(f"{name!r} is not a folder name")
        return v


class MusicConfig(Section):
    """Music library: one folder per playlist under ``root``."""

    root: str = Field(
        "music",
        min_length=1,
        description=(
            "Folder holding one sub-folder per playlist (music/<playlist>/...; sub-folders "
            "inside a playlist count too). Relative paths resolve against this file's folder. "
            "May be a symlink (the USB importer swaps it atomically); it is re-resolved on "
            "every check."
        ),
    )
    extensions: list[str] = Field(
        list(AUDIO_EXTENSIONS),
        min_length=1,
        description="File name endings treated as audio (case-insensitive). Everything "
        "else (covers, playlists, text, hidden files) is ignored.",
    )
    blocked: list[BlockEntry] = Field(
        [],
        description="Tracks never played, e.g. [{artist: 'Some Band'}, {pattern: 'christmas'}, "
        "{track: 'happy/song.mp3'}]. Always in force; the block/unblock commands add and "
        "remove further rules, kept in the state directory.",
    )
    analysis: bool = Field(
        True,
        description="Analyse every track in the background (loudness, tempo, mood estimate; "
        "one niced thread, results cached in the state directory) after start-up and after "
        "each library change or USB import. false: no analysis, so no self-sorting "
        "playlists, loudness levelling or trajectory order for new tracks.",
    )
    sorting: SortingConfig = Field(
        default_factory=SortingConfig,
        description="Self-sorting playlists: where each playlist sits on the valence-arousal "
        "plane, and which folders are sorted by the tracks' mood estimates.",
    )

    @field_validator("extensions")
    @classmethod
    def _dotted(cls, v: list[str]) -> list[str]:
        out = []
        for ext in v:
            e = ext.strip().lower()
            if not e or "/" in e or e in (".", ".."):
                raise ValueError(f"{ext!r} is not a file extension like '.mp3'")
            out.append(e if e.startswith(".") else "." + e)
        return out


def music_root(loaded: LoadedConfig, override: str | os.PathLike[str] | None = None) -> Path:
    """The music folder (``music.root``, or ``override`` where a caller has its own setting
    such as ``usb_import.music_root``), resolved against the config's folder."""
    return loaded.resolve(override or loaded.config.music.root)
