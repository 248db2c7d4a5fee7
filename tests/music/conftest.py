"""Fixtures for the music tests (helpers live in music_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from music_helpers import FakeClock, FifoCapture


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def vlc_module():
    """Real libvlc, or a skip that says what to install."""
    from kiosk.music.player import PlayerError
    from kiosk.music.vlc_player import load_vlc

    try:
        return load_vlc()
    except PlayerError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def fifo_capture(tmp_path: Path):
    cap = FifoCapture(tmp_path / "out.wav")
    yield cap
    cap.close()
