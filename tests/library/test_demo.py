"""Generated demo music: one distinct tune per playlist, only where none exists."""

from __future__ import annotations

import itertools
from pathlib import Path

from music_helpers import dominant_hz, read_wav, write_tone

from kiosk.library.demo import ensure_demo_library
from kiosk.library.library import Library

NAMES = ["calm", "upbeat", "energetic", "mellow", "background"]


def test_one_distinct_tune_per_playlist(tmp_path: Path) -> None:
    ensure_demo_library(tmp_path, NAMES)
    lib = Library(tmp_path)
    lowest: dict[str, float] = {}
    for name in NAMES:
        (track,) = lib.tracks(name)
        assert track.artist == "Kiosk demo" and name.capitalize() in track.title
        assert track.duration_s and 3 <= track.duration_s <= 15
        samples, rate = read_wav(track.path)
        assert samples.std() > 1000  # audible, not silence
        # The tonic starts and ends each tune: its pitch identifies the playlist.
        lowest[name] = dominant_hz(samples[: rate // 8], rate)
    ordered = [lowest[n] for n in sorted(NAMES)]
    assert ordered == sorted(ordered) and len(set(ordered)) == len(NAMES)
    assert min(b / a for a, b in itertools.pairwise(ordered)) > 1.1


def test_existing_music_is_kept_and_reruns_change_nothing(tmp_path: Path) -> None:
    mine = write_tone(tmp_path / "calm" / "mine.wav", 300, 0.2)
    ensure_demo_library(tmp_path, NAMES)
    assert [p.name for p in (tmp_path / "calm").iterdir()] == ["mine.wav"]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.wav")}
    ensure_demo_library(tmp_path, NAMES)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.wav")} == before
    assert mine.read_bytes()[:4] == b"RIFF"
    assert not list(tmp_path.rglob("*.part"))
