"""Fixtures for the player tests (audio helpers live in tests/music_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeClock
from music_helpers import FifoCapture


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fifo_capture(tmp_path: Path):
    cap = FifoCapture(tmp_path / "out.wav")
    yield cap
    cap.close()
