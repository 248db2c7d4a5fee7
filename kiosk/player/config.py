"""Config for the audio player: backend, volume limits, crossfade, track order, levelling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.settings_base import Section


class PlayerConfig(Section):
    """Audio player (VLC, or ``null`` for development)."""

    backend: Literal["vlc", "null"] = Field(
        "vlc",
        description="'vlc' plays through libvlc (apt install libvlc5 vlc-plugin-base); "
        "'null' plays nothing and only keeps state (development, tests).",
    )
    volume: int = Field(
        60, ge=0, le=100, description="Start volume 0-100 (clamped to min/max_volume)."
    )
    min_volume: int = Field(
        10,
        ge=0,
        le=100,
        description="Lowest volume any command or schedule can set, so the shop is never "
        "silent by mistake. 0 allows silence.",
    )
    max_volume: int = Field(
        90,
        ge=0,
        le=100,
        description="Highest volume any command or schedule can set (protects speakers and "
        "neighbours).",
    )
    crossfade_s: float = Field(
        3.0,
        ge=0,
        le=30,
        description="Playlist switches fade the old music down and the new one up over this "
        "many seconds, both playing at once. 0: cut.",
    )
    shuffle: bool = Field(
        True,
        description="Shuffle each playlist: every track plays once before any repeats, and "
        "never the same track twice in a row. false: folder order.",
    )
    order: Literal["shuffle", "trajectory", "experiment"] = Field(
        "shuffle",
        description="Track order inside a playlist. 'shuffle' (see shuffle). 'trajectory' "
        "(iso principle): each next track is the one nearest a point that starts at the "
        "crowd's mood on the valence-arousal plane and moves to the playlist's place over "
        "trajectory_tracks tracks; still no repeat before every track has played, and "
        "never the same track twice in a row. 'experiment': each playlist start draws "
        "shuffle or trajectory at random (the history records which, for the report).",
    )
    trajectory_tracks: int = Field(
        4,
        ge=1,
        le=50,
        description="Tracks the trajectory order takes to move from the crowd's mood to "
        "the playlist's place.",
    )
    loudness_target_lufs: float | None = Field(
        -18.0,
        ge=-40,
        le=-5,
        description="Level every track to this integrated loudness (LUFS, EBU R128; -18 is "
        "the ReplayGain 2.0 reference), limited so its peak stays under -1 dBFS; crossfades "
        "keep each track's own gain. Needs music.analysis (tracks not analysed yet play "
        "as mastered). null: off.",
    )
    retry_failed_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="When every file of a playlist fails to play, try the playlist again "
        "after this many seconds (a fault is reported meanwhile).",
    )
    stall_s: float = Field(
        4.0,
        ge=1,
        le=60,
        description="A track that neither plays nor ends for this long is skipped, so a "
        "stuck file never leaves the shop silent for longer.",
    )
    aout: str = Field(
        "auto",
        pattern=r"^[a-z0-9_]+$",
        description=(
            "VLC audio output. 'auto': VLC's default, or 'afile' into wav_path when the "
            "machine has no sound card (containers, CI). 'alsa' for systemd services (use "
            "alsa_device); 'pulse' for a desktop session; 'afile' writes wav_path."
        ),
    )
    alsa_device: str | None = Field(
        None,
        description="ALSA device for aout 'alsa', e.g. 'default', 'hw:1,0' or "
        "'plughw:CARD=Headphones'. null: ALSA's default. Lists: `aplay -L`.",
    )
    wav_path: str | None = Field(
        None,
        description=(
            "WAV file for aout 'afile' and for the no-sound-card fallback. VLC rewrites it "
            "for every track, so it never grows past one track; it ignores the volume. null: "
            "kiosk-audio-<uid>.wav in the temp folder. Relative paths resolve against this "
            "file's folder."
        ),
    )
    skip_limit_per_hour: int = Field(
        6,
        ge=0,
        le=1000,
        description="How many times staff (the staff page's staff role) may skip a track per "
        "hour; MQTT, kiosk ctl and the operator role are not limited. 0: unlimited.",
    )
    vlc_args: list[str] = Field(
        [],
        description="Extra libvlc options, e.g. ['--audio-filter=normvol'] to even out "
        "loudness. Must start with '--'.",
    )

    @field_validator("vlc_args")
    @classmethod
    def _options(cls, v: list[str]) -> list[str]:
        for arg in v:
            if not arg.startswith("--") or "\n" in arg:
                raise ValueError(f"{arg!r} is not a libvlc option like '--audio-filter=normvol'")
        return v

    @model_validator(mode="after")
    def _limits(self) -> PlayerConfig:
        if self.min_volume > self.max_volume:
            raise ValueError(f"min_volume {self.min_volume} is above max_volume {self.max_volume}")
        return self

    def clamp(self, level: float) -> int:
        """A volume request limited to ``min_volume..max_volume``."""
        return int(max(self.min_volume, min(self.max_volume, round(level))))
