"""Fixtures shared by the whole suite. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os

import numpy as np
import pytest

# LiteRT logs one INFO line per interpreter to stderr; keep test output readable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The bundled real photograph (one frontal face), BGR."""
    from kiosk.camera.compose import photo

    return photo().copy()


@pytest.fixture(scope="session")
def default_loaded():
    from kiosk.config import load_config

    return load_config(None)


@pytest.fixture(scope="session")
def pipeline(default_loaded):
    """The real models with the default config (session-wide: loading costs ~50 ms)."""
    from kiosk.vision.pipeline import Pipeline

    return Pipeline.from_config(default_loaded)
