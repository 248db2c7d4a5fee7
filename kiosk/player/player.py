"""The player interface the daemon codes against, plus the backend factory.

Backends are small plugins: ``vlc`` (python-vlc, imported only when chosen) and ``null``
(state only). Both are driven by ``poll()``: the daemon calls it about every 0.5 s and the
player advances tracks, finishes volume ramps and recovers from silence there, timed with an
injectable monotonic clock.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kiosk.library.tracks import Track
from kiosk.player.base import (
    Clock,
    Fade,
    Player,
    PlayerError,
    PlayerState,
    default_wav_path,
)
from kiosk.player.config import PlayerConfig

__all__ = [
    "Clock",
    "Fade",
    "Player",
    "PlayerError",
    "PlayerState",
    "Track",
    "create_player",
    "default_wav_path",
]


def create_player(
    cfg: PlayerConfig,
    on_track: Callable[[Track], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    clock: Clock | None = None,
    base_dir: Path | None = None,
) -> Player:
    """Build the configured backend.

    ``base_dir`` resolves a relative ``wav_path`` (pass ``LoadedConfig.base_dir``);
    ``clock`` replaces ``time.monotonic`` in tests.
    """
    if cfg.backend == "null":
        from kiosk.player.null import NullPlayer

        player: Player = NullPlayer(cfg, clock=clock)
    else:
        from kiosk.player.vlc import VlcPlayer

        player = VlcPlayer(cfg, clock=clock, base_dir=base_dir)
    player.on_track = on_track
    player.on_error = on_error
    return player
