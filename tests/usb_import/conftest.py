"""Sticks and libraries for the importer tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from audiofiles import make_wav

from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.importer import Paths


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    """A stick mount point with kiosk-music/happy and kiosk-music/sad holding real WAVs."""
    top = tmp_path / "stick" / "kiosk-music"
    make_wav(top / "happy" / "sun.wav", freq=523)
    make_wav(top / "happy" / "beach.wav", freq=659)
    make_wav(top / "sad" / "rain.wav", freq=220)
    return top


@pytest.fixture
def lib(tmp_path: Path) -> Paths:
    """A live plain music folder with one old track (as a fresh install has)."""
    root = tmp_path / "var" / "music"
    make_wav(root / "neutral" / "old.wav", freq=330)
    return Paths(root, tmp_path / "var" / "library")


@pytest.fixture
def cfg() -> ImportConfig:
    return ImportConfig(min_free_mb=0)
