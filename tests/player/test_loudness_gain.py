"""The per-track gain: to the target, peak under -1 dBFS, off or unknown means as mastered."""

from __future__ import annotations

import pytest
from fakes import FakeClock

from kiosk.library.tracks import Track
from kiosk.player.config import PlayerConfig
from kiosk.player.loudness_gain import track_gain_db
from kiosk.player.null import NullPlayer


def test_gain_to_target_limited_by_peak() -> None:
    assert track_gain_db({"lufs": -10.0, "peak_db": -2.0}, -18.0) == pytest.approx(-8.0)
    assert track_gain_db({"lufs": -30.0, "peak_db": -20.0}, -18.0) == pytest.approx(12.0)
    # +12 wanted, but the peak at -6 dBFS allows only +5 (to -1 dBFS)
    assert track_gain_db({"lufs": -30.0, "peak_db": -6.0}, -18.0) == pytest.approx(5.0)
    assert track_gain_db({"lufs": -30.0, "peak_db": None}, -18.0) == pytest.approx(12.0)
    assert track_gain_db({"lufs": -10.0, "peak_db": -2.0}, None) == 0.0  # off
    for bad in (None, {}, {"lufs": None}, {"lufs": float("nan")}, {"error": "x"}):
        assert track_gain_db(bad, -18.0) == 0.0


def test_each_deck_keeps_its_gain_through_a_crossfade(tmp_path) -> None:
    clock = FakeClock()
    est = {"loud.wav": {"lufs": -8.0, "peak_db": -1.0}, "quiet.wav": {"lufs": -26.0}}
    player = NullPlayer(PlayerConfig(backend="null", crossfade_s=2.0), clock=clock)
    player.estimate = lambda t: est.get(t.path.name)
    player.play_playlist("a", [Track(tmp_path / "loud.wav")], 2.0)
    player.play_playlist("b", [Track(tmp_path / "quiet.wav")], 2.0)
    clock.advance(1.0)  # mid-crossfade: both decks sound, each at its own gain
    gains = {d.track.path.name: d.gain_db for d in player._decks if d.track is not None}
    assert gains == {"loud.wav": pytest.approx(-10.0), "quiet.wav": pytest.approx(8.0)}
