"""Config for self-sorting playlists: each playlist's place on the valence-arousal plane.

Ready to hang into the root config as ``music_sorting`` (the lead wires it; until then the
defaults below apply).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from kiosk.settings_base import Section


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
