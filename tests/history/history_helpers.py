"""Helpers for the history tests: event builders, faces, a fake colour-coded pipeline."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakes import FakeFace, FakePlayer, sure_face

from kiosk.core.events import Event
from kiosk.history.config import HistoryConfig
from kiosk.history.recorder import Recorder

T0 = 1_795_680_000.0  # a whole minute (2026-11-26T08:00:00Z)


def sample(ts: float, faces: int = 1, mood: str = "happy") -> Event:
    emotions = {mood: faces} if faces else {}
    return Event("sample", {"faces": faces, "faces_ignored": 0, "emotions": emotions}, ts)


def recorder(tmp_path: Path, **cfg: Any) -> Recorder:
    rec = Recorder(tmp_path / "history.sqlite3", HistoryConfig(**cfg), interval_s=2.0)
    rec.start()
    return rec


def query(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def wait_for(pred, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# Frame colours (BGR) of the replayed day: the fake classifier reads the mood off them.
COLOUR_MOOD = {(0, 200, 255): "happy", (255, 0, 0): "sad"}


@dataclass
class _Result:
    faces: list[FakeFace]
    timing_ms: dict[str, float] = field(default_factory=lambda: {"detect": 1.0})


class ColourPipeline:
    """Stands in for detector + classifier in unit tests: one face whose mood is the
    frame's colour (COLOUR_MOOD), none on a black frame."""

    def process(self, frame) -> _Result:
        b, g, r = (int(v) for v in frame[frame.shape[0] // 2, frame.shape[1] // 2])
        for colour, mood in COLOUR_MOOD.items():
            if max(abs(b - colour[0]), abs(g - colour[1]), abs(r - colour[2])) < 40:
                return _Result([sure_face(mood)])
        return _Result([])


def built_daemon(tmp_path: Path) -> tuple[Any, Any]:
    """(daemon, core): a daemon wired as `kiosk run` wires it, with a fake player, no
    music and the colour pipeline, its state in ``tmp_path``."""
    from kiosk.config import load_config
    from kiosk.service.app import Daemon

    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"service:\n  state_dir: {tmp_path}\n")
    daemon = Daemon(
        load_config(cfg),
        make_player=lambda loaded, backend, core: FakePlayer(),
        make_library=lambda loaded, required: None,
        make_pipeline=lambda loaded: ColourPipeline(),
    )
    return daemon, daemon._build()
