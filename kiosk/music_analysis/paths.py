"""Path helpers shared by the analysis front ends (light: no numpy, no decoders)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from kiosk.library.names import AUDIO_EXTENSIONS


def display_path(path: Path) -> str:
    """The path as text for JSON/logs; undecodable bytes become U+FFFD, never an exception."""
    return os.fsencode(path).decode("utf-8", "replace")


def expand(paths: Iterable[Path], extensions: Iterable[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """Files as given; folders walked (sorted, no symlinked folders) for audio extensions."""
    exts = {e.lower() for e in extensions}
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    if os.path.splitext(name)[1].lower() in exts:
                        out.append(Path(root) / name)
        else:
            out.append(p)
    return out
