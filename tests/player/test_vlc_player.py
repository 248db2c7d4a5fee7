"""The VLC backend on real libvlc, writing through aout=afile; checked by FFT, no mocks."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from music_helpers import RATE, dominant_hz, read_wav, write_garbage, write_tone

from kiosk.library.library import Library
from kiosk.player.config import PlayerConfig
from kiosk.player.player import PlayerError, create_player
from kiosk.player.vlc import has_sound_output

pytestmark = pytest.mark.usefixtures("vlc_module")


def run_for(player, seconds: float, step: float = 0.1) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        player.poll()
        time.sleep(step)


def window_freqs(samples: np.ndarray, window_s: float = 0.2) -> list[float]:
    n = int(RATE * window_s)
    return [dominant_hz(samples[i : i + n]) for i in range(0, len(samples) - n + 1, n)]


def test_switch_moves_output_from_440_to_880(tmp_path: Path, fifo_capture) -> None:
    for i in range(2):
        write_tone(tmp_path / "music" / "a" / f"a{i}.wav", 440, 2.0)
        write_tone(tmp_path / "music" / "b" / f"b{i}.wav", 880, 2.0)
    lib = Library(tmp_path / "music")
    cfg = PlayerConfig(aout="afile", wav_path=str(fifo_capture.path), crossfade_s=0.5)
    started: list[str] = []
    player = create_player(cfg, on_track=lambda t: started.append(t.path.name))
    try:
        player.play_playlist("a", lib.tracks("a"), 0.5)
        run_for(player, 1.5)
        t0 = time.monotonic()
        player.play_playlist("b", lib.tracks("b"), 0.5)
        while not (started and started[-1].startswith("b")):
            player.poll()
            time.sleep(0.02)
            assert time.monotonic() - t0 < 3, started
        switch_latency = time.monotonic() - t0
        run_for(player, 2.0)
        st = player.state()
        assert st.playlist == "b" and st.playing and st.errors == 0
        player.stop()
    finally:
        player.close()
    freqs = window_freqs(fifo_capture.samples())
    assert len(freqs) >= 10, freqs
    assert all(abs(f - 440) < 10 for f in freqs[:3]), freqs
    assert all(abs(f - 880) < 10 for f in freqs[-3:]), freqs
    last_440 = max(i for i, f in enumerate(freqs) if abs(f - 440) < 10)
    first_880 = min(i for i, f in enumerate(freqs) if abs(f - 880) < 10)
    # One move, not a flap. The old deck's tail (the 0.5 s fade plus the ~1 s afile writes
    # ahead of real time) interleaves with the new deck in the stream; after that, no 440 Hz.
    assert last_440 - first_880 <= int(2.0 / 0.2), freqs
    print(f"switch latency to first 880 Hz track confirmed: {switch_latency:.2f} s")


def test_corrupt_file_is_skipped_and_next_plays(tmp_path: Path) -> None:
    write_garbage(tmp_path / "music" / "x" / "0 broken.mp3")
    write_tone(tmp_path / "music" / "x" / "1 good.wav", 880, 1.5)
    (tmp_path / "music" / "x" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    lib = Library(tmp_path / "music")
    assert [t.path.name for t in lib.tracks("x")] == ["0 broken.mp3", "1 good.wav"]
    wav = tmp_path / "out.wav"
    errors: list[str] = []
    started: list[str] = []
    cfg = PlayerConfig(aout="afile", wav_path=str(wav), shuffle=False)
    player = create_player(
        cfg, on_track=lambda t: started.append(t.path.name), on_error=errors.append
    )
    try:
        player.play_playlist("x", lib.tracks("x"), 0.0)
        t0 = time.monotonic()
        while not started and time.monotonic() - t0 < 4:
            player.poll()
            time.sleep(0.05)
        assert started == ["1 good.wav"]
        assert time.monotonic() - t0 < 2.0  # the gap a broken file causes is short
        assert player.state().errors == 1
        assert errors and "0 broken.mp3" in errors[0]
        run_for(player, 0.5)
        player.stop()
    finally:
        player.close()
    samples, rate = read_wav(wav)  # afile writes the header sizes on stop
    assert len(samples) > rate // 2
    assert abs(dominant_hz(samples[: rate // 2], rate) - 880) < 10


def test_all_files_broken_reports_and_waits(tmp_path: Path) -> None:
    for i in range(2):
        write_garbage(tmp_path / "music" / "x" / f"bad{i}.mp3", seed=i)
    lib = Library(tmp_path / "music")
    errors: list[str] = []
    cfg = PlayerConfig(aout="afile", wav_path=str(tmp_path / "o.wav"), retry_failed_s=30)
    player = create_player(cfg, on_error=errors.append)
    try:
        player.play_playlist("x", lib.tracks("x"), 0.0)
        run_for(player, 2.0)
        st = player.state()
        assert not st.playing and st.errors == 2  # two attempts, then it waits: no spinning
        assert any("no file of playlist x plays" in e for e in errors), errors
    finally:
        player.close()


def test_auto_output_falls_back_to_wav_without_sound_card(tmp_path: Path) -> None:
    if has_sound_output():
        pytest.skip("this machine has a sound output")
    write_tone(tmp_path / "m" / "p" / "t.wav", 440, 1.0)
    wav = tmp_path / "fallback.wav"
    player = create_player(PlayerConfig(wav_path=str(wav)))
    try:
        assert player.state().output == f"afile:{wav}"
        player.play_playlist("p", Library(tmp_path / "m").tracks("p"), 0.0)
        run_for(player, 0.6)
        player.stop()
    finally:
        player.close()
    samples, rate = read_wav(wav)
    assert abs(dominant_hz(samples[: rate // 4], rate) - 440) < 10


def test_missing_libvlc_gives_install_hint(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vlc", None)  # what `import vlc` sees without python-vlc
    with pytest.raises(PlayerError, match="apt install libvlc5"):
        create_player(PlayerConfig(backend="vlc"))


def test_bad_vlc_option_is_a_clear_error(tmp_path: Path) -> None:
    cfg = PlayerConfig(aout="afile", wav_path=str(tmp_path / "o.wav"), vlc_args=["--no-such-x"])
    with pytest.raises(PlayerError, match="vlc_args"):
        create_player(cfg)


def test_output_that_drops_audio_falls_back_to_wav(tmp_path: Path, monkeypatch) -> None:
    # Pretend a sound card exists: VLC's default output then fails to open in this
    # container, and VLC "plays" on in real time without anyone hearing it.
    monkeypatch.setattr("kiosk.player.vlc.has_sound_output", lambda: True)
    for i in range(3):
        write_tone(tmp_path / "m" / "p" / f"t{i}.wav", 440, 4.5)
    wav = tmp_path / "fallback.wav"
    errors: list[str] = []
    player = create_player(PlayerConfig(wav_path=str(wav)), on_error=errors.append)
    try:
        assert player.state().output == "default"
        player.play_playlist("p", Library(tmp_path / "m").tracks("p"), 0.0)
        end = time.monotonic() + 4
        while player.state().output == "default" and time.monotonic() < end:
            player.poll()
            time.sleep(0.1)
        if player.state().output == "default" and os.path.exists("/dev/snd"):
            pytest.skip("VLC's default output works on this machine")
        assert player.state().output == f"afile:{wav}"
        assert any("plays nothing" in e for e in errors), errors
        run_for(player, 1.0)
        assert player.state().playing
        player.stop()
    finally:
        player.close()
    samples, rate = read_wav(wav)
    assert abs(dominant_hz(samples[: rate // 4], rate) - 440) < 10


def test_close_finishes_the_stop_fade(tmp_path: Path) -> None:
    write_tone(tmp_path / "m" / "p" / "t.wav", 440, 3.0)
    player = create_player(PlayerConfig(aout="afile", wav_path=str(tmp_path / "o.wav")))
    player.play_playlist("p", Library(tmp_path / "m").tracks("p"), 0.0)
    run_for(player, 0.3)
    player.stop(0.6)
    t0 = time.monotonic()
    player.close()
    assert 0.4 < time.monotonic() - t0 < 1.5
    player.close()  # twice is harmless
