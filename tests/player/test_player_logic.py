"""Play order, crossfades, volume limits, skipping and recovery, on the null backend.

The null backend runs the same deck logic as VLC (kiosk.player.decks) on a fake clock, so
these tests are exact and instant; the VLC tests check the same behaviour with real audio.
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.library.tracks import Track
from kiosk.player.config import PlayerConfig
from kiosk.player.null import NullPlayer
from kiosk.player.player import Player, PlayerState, create_player
from kiosk.player.shuffle import PlayOrder


def tracks(name: str, n: int, length: float = 10.0) -> list[Track]:
    return [Track(Path(f"/m/{name}/{i}.ogg"), f"{name}{i}", None, length) for i in range(n)]


def make(clock, **cfg) -> NullPlayer:
    cfg.setdefault("backend", "null")
    player = create_player(PlayerConfig(**cfg), clock=clock)
    assert isinstance(player, NullPlayer)
    return player


def level_of(player: NullPlayer, playlist: str) -> int | None:
    found = [lvl for t, lvl in player.levels() if f"/{playlist}/" in str(t.path)]
    return found[0] if found else None


# -- play order ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 7])
def test_shuffle_plays_every_track_once_per_cycle_and_never_twice_in_a_row(n: int) -> None:
    order = PlayOrder(list(range(n)), shuffle=True, rng=random.Random(n))
    played = [order.next() for _ in range(n * 200)]
    for c in range(200):
        assert sorted(played[c * n : (c + 1) * n]) == list(range(n))
    assert all(a != b for a, b in itertools.pairwise(played))
    firsts = {played[c * n] for c in range(200)}
    assert len(firsts) == (1 if n == 2 else n)  # really shuffled (two tracks can only alternate)


def test_single_track_repeats_and_folder_order_loops() -> None:
    assert [PlayOrder(["x"]).next() for _ in range(3)] == ["x"] * 3
    order = PlayOrder(["a", "b", "c"], shuffle=False)
    assert [order.next() for _ in range(6)] == ["a", "b", "c", "a", "b", "c"]
    with pytest.raises(IndexError):
        PlayOrder([]).next()


# -- playing ---------------------------------------------------------------------------------


def test_null_player_meets_the_protocol_and_advances_tracks(clock) -> None:
    seen: list[str] = []
    player = make(clock, shuffle=False)
    player.on_track = lambda t: seen.append(t.title)
    assert isinstance(player, Player)
    player.play_playlist("a", tracks("a", 3), 2.0)
    for _ in range(70):  # 35 s of polls every 0.5 s: three 10 s tracks and the next one
        clock.advance(0.5)
        player.poll()
    assert seen == ["a0", "a1", "a2", "a0"]
    st = player.state()
    assert isinstance(st, PlayerState)
    assert (st.playlist, st.playing, st.paused, st.errors) == ("a", True, False, 0)


def test_crossfade_ramps_old_down_and_new_up(clock) -> None:
    player = make(clock, volume=80, max_volume=100, crossfade_s=2.0)
    player.play_playlist("a", tracks("a", 2, 60), 2.0)
    clock.advance(5)
    player.poll()
    assert level_of(player, "a") == 80  # nothing to fade from at start: full at once
    player.play_playlist("b", tracks("b", 2, 60), 2.0)
    assert (level_of(player, "a"), level_of(player, "b")) == (80, 0)
    assert player.state().playlist == "b" and "/b/" in str(player.state().track.path)
    clock.advance(1.0)
    player.poll()
    half = round(80 * math.cos(math.pi / 4))  # equal power: no loudness dip in the middle
    assert (level_of(player, "a"), level_of(player, "b")) == (half, half)
    clock.advance(0.5)
    assert level_of(player, "a") < half < level_of(player, "b")
    clock.advance(0.6)
    player.poll()
    assert level_of(player, "a") is None  # the old deck stopped after its fade
    assert level_of(player, "b") == 80


def test_switch_during_a_fade_in_does_not_jump_up(clock) -> None:
    player = make(clock, volume=80, max_volume=100)
    player.play_playlist("a", tracks("a", 2, 60), 0)
    clock.advance(5)
    player.poll()
    player.play_playlist("b", tracks("b", 2, 60), 2.0)
    clock.advance(0.5)
    b_level = level_of(player, "b")
    player.play_playlist("c", tracks("c", 2, 60), 2.0)
    assert level_of(player, "b") == b_level  # fades down from where it was
    assert level_of(player, "a") is None  # a third deck is never needed
    clock.advance(2.0)
    player.poll()
    assert [t.path.parent.name for t, _ in player.levels()] == ["c"]


def test_same_playlist_again_is_a_no_op_but_takes_new_files(clock) -> None:
    player = make(clock, shuffle=False)
    player.play_playlist("a", tracks("a", 2), 1.0)
    first = player.state().track
    player.play_playlist("a", tracks("a", 2), 1.0)
    assert player.state().track == first and len(player.started) == 1
    player.play_playlist("a", tracks("a", 3), 1.0)  # library changed: no restart
    assert player.state().track == first and len(player.started) == 1
    for _ in range(70):
        clock.advance(0.5)
        player.poll()
    assert [t.title for t in player.started[:4]] == ["a0", "a1", "a2", "a0"]  # carried on


def test_volume_is_clamped_and_ramps_follow_it(clock) -> None:
    player = make(clock, volume=50, min_volume=20, max_volume=70)
    player.set_volume(0)
    assert player.state().volume == 20
    player.set_volume(100)
    assert player.state().volume == 70
    player.play_playlist("a", tracks("a", 1, 60), 0)
    assert level_of(player, "a") == 70
    player.play_playlist("b", tracks("b", 1, 60), 2.0)
    clock.advance(1.0)
    player.set_volume(30)
    assert level_of(player, "b") == round(30 * math.sin(math.pi / 4))


def test_volume_limits_are_validated() -> None:
    with pytest.raises(ValidationError, match="min_volume 80 is above max_volume 50"):
        PlayerConfig(min_volume=80, max_volume=50)
    with pytest.raises(ValidationError):
        PlayerConfig(volume=101)
    with pytest.raises(ValidationError, match="libvlc option"):
        PlayerConfig(vlc_args=["normvol"])
    with pytest.raises(ValidationError):
        PlayerConfig(backend="mpd")


def test_pause_freezes_and_resume_continues(clock) -> None:
    player = make(clock)
    player.play_playlist("a", tracks("a", 2, 10), 0)
    clock.advance(4)
    player.poll()
    player.pause()
    clock.advance(100)
    player.poll()
    st = player.state()
    assert st.paused and st.playing and len(player.started) == 1
    player.resume()
    clock.advance(5.5)
    player.poll()
    assert len(player.started) == 1  # 4 s + 5.5 s of a 10 s track: still the first
    clock.advance(1)
    player.poll()
    assert len(player.started) == 2


def test_stop_fades_out_then_forgets_the_playlist(clock) -> None:
    player = make(clock, volume=60)
    player.play_playlist("a", tracks("a", 2, 60), 0)
    player.stop(2.0)
    st = player.state()
    assert st.playlist is None and not st.playing
    clock.advance(1.0)
    player.poll()
    assert 0 < level_of(player, "a") < 60
    clock.advance(1.1)
    player.poll()
    assert player.levels() == []
    player.close()


def test_next_track_moves_on(clock) -> None:
    player = make(clock, shuffle=False)
    player.play_playlist("a", tracks("a", 3), 0)
    player.next_track()
    assert player.state().track.title == "a1"


# -- failures --------------------------------------------------------------------------------


def test_unplayable_files_are_skipped_and_remembered(clock) -> None:
    errors: list[str] = []
    player = make(clock, shuffle=False)
    player.fails = lambda t: t.title == "a1"
    player.on_error = errors.append
    player.play_playlist("a", tracks("a", 3), 0)
    for _ in range(130):  # 65 s: about six 10 s tracks
        clock.advance(0.5)
        player.poll()
    titles = [t.title for t in player.started]
    assert titles.count("a1") == 1  # skipped once, then left out of later cycles
    assert titles[:4] == ["a0", "a1", "a2", "a0"]
    assert player.state().errors == 1 and errors == [
        "skipped 1.ogg: the decoder failed (damaged or unsupported file)"
    ]


def test_all_files_failing_reports_and_retries_without_spinning(clock) -> None:
    errors: list[str] = []
    player = make(clock, retry_failed_s=30)
    player.fails = lambda t: True
    player.on_error = errors.append
    player.play_playlist("a", tracks("a", 3), 0)
    for _ in range(10):
        clock.advance(0.5)
        player.poll()
    assert len(player.started) == 3 and not player.state().playing
    assert "no file of playlist a plays (3 tried); trying again in 30 s" in errors
    for _ in range(50):  # 25 s more: still waiting
        clock.advance(0.5)
        player.poll()
    assert len(player.started) == 3
    player.fails = lambda t: t.title != "a2"  # someone fixed one file
    for _ in range(20):
        clock.advance(0.5)
        player.poll()
    assert player.state().playing and player.state().track.title == "a2"


def test_new_files_are_tried_at_once_after_everything_failed(clock) -> None:
    player = make(clock, retry_failed_s=600)
    player.fails = lambda t: "/a/" in str(t.path) and t.title != "a9"
    player.play_playlist("a", tracks("a", 2), 0)
    for _ in range(6):
        clock.advance(0.5)
        player.poll()
    assert not player.state().playing
    fixed = [*tracks("a", 2), Track(Path("/m/a/9.ogg"), "a9", None, 10)]
    player.play_playlist("a", fixed, 0)
    for _ in range(4):  # one poll per broken file at most, not the 600 s back-off
        clock.advance(0.5)
        player.poll()
    assert player.state().playing and player.state().track.title == "a9"


def test_empty_playlist_reports(clock) -> None:
    errors: list[str] = []
    player = make(clock)
    player.on_error = errors.append
    player.play_playlist("empty", [], 1.0)
    assert errors == ["playlist empty has no playable files"]
    assert not player.state().playing
    player.poll()


def test_callback_errors_do_not_break_the_player(clock) -> None:
    player = make(clock)

    def boom(*_):
        raise RuntimeError("listener bug")

    player.on_track, player.on_error = boom, boom
    player.fails = lambda t: t.title == "a0"
    player.play_playlist("a", tracks("a", 2), 0)
    for _ in range(4):
        clock.advance(0.5)
        player.poll()
    assert player.state().playing


def test_ramps_are_smooth_between_polls_on_a_real_clock() -> None:
    import time

    player = NullPlayer(PlayerConfig(backend="null", volume=80, max_volume=100), time.monotonic)
    player.play_playlist("a", tracks("a", 1, 60), 0)
    player.play_playlist("b", tracks("b", 1, 60), 0.6)
    seen = set()
    end = time.monotonic() + 0.4
    while time.monotonic() < end:  # no poll(): the ramp thread moves the volumes
        seen.add(player._decks[player._active].applied)
        time.sleep(0.01)
    assert len(seen) >= 4, seen
    time.sleep(0.4)
    assert [lvl for _, lvl in player.levels()] == [80]
    player.close()
