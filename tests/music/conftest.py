"""Fixtures for the music tests (helpers live in music_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from music_helpers import FakeClock, FifoCapture
from real_tools import require_libvlc


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def vlc_module():
    """Real libvlc; without it a skip that says what to install (a failure under CI=true)."""
    return require_libvlc()


@pytest.fixture
def fifo_capture(tmp_path: Path):
    cap = FifoCapture(tmp_path / "out.wav")
    yield cap
    cap.close()
