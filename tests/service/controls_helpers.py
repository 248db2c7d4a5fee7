"""A real core over real files: Library + NullPlayer (shuffle, decks) on a simulated clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from kiosk.config import load_config, parse_config
from kiosk.core.core import Core
from kiosk.library.blocklist import BlockList
from kiosk.library.library import Library
from kiosk.player.null import NullPlayer
from kiosk.service.clock import SimClock

NOON = datetime(2026, 11, 18, 12, 0)


def make_music(root: Path, tracks: int = 50, playlist: str = "background") -> Path:
    """``tracks`` tiny files named ``NN - Artist K - Song NN.ogg`` (never decoded)."""
    folder = root / playlist
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(tracks):
        (folder / f"{i:02d} - Artist {i % 5} - Song {i:02d}.ogg").write_bytes(b"x" * 64)
    return root


def real_core(
    root: Path,
    state: Path | None = None,
    config: dict | None = None,
    clock: SimClock | None = None,
) -> tuple[Core, NullPlayer, SimClock]:
    cfg = parse_config(
        {"music": {"root": str(root)}, "player": {"backend": "null"}, **(config or {})}
    )
    loaded = replace(load_config(None), config=cfg)
    clock = clock or SimClock(start_wall=NOON.timestamp())
    player = NullPlayer(cfg.player, clock=clock.monotonic)
    blocks = BlockList(state / "blocklist.json" if state else None, cfg.music.blocked)
    core = Core(
        loaded,
        player,
        Library(root, cfg.music.extensions),
        clock,
        library_factory=lambda ld: Library(root, cfg.music.extensions),
        blocklist=blocks,
    )
    core.start()
    core.poll()
    return core, player, clock


def playing(core: Core) -> str:
    track = core.status().track
    assert track is not None
    return track["path"]
