"""Fixtures for the audio-analysis tests: audio synthesised here, encoded by real ffmpeg."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """Path of ffmpeg; under CI=true its absence fails the run instead of skipping."""
    path = shutil.which("ffmpeg")
    if path is None or shutil.which("ffprobe") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ffmpeg/ffprobe missing (scripts/bootstrap.sh installs them)")
        pytest.skip("ffmpeg not installed")
    return path
