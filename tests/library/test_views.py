"""Self-sorting playlists through the real views, core and deck player (null backend).

Estimates are controlled: analysis rows are injected into the real cache for synthetic
files, so which playlist each track joins is known in advance.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from music_helpers import write_tone

from kiosk.config import load_config, parse_config
from kiosk.core.api import CommandError
from kiosk.core.core import Core
from kiosk.library.config import SortingConfig
from kiosk.library.names import AUDIO_EXTENSIONS
from kiosk.library.views import CachedEstimates, MusicViews
from kiosk.player.null import NullPlayer
from kiosk.service.clock import SimClock


def inject(state: Path, path: Path, valence: float, arousal: float, **extra) -> None:
    est = CachedEstimates(state)
    assert est.cache is not None
    row = {"duration_s": 1.0, "lufs": -20.0, "peak_db": -6.0, "tempo_bpm": 120.0}
    row |= {"valence": valence, "arousal": arousal, "quadrant": "Q1", "confidence": 0.5}
    est.cache.put(est.cache.key_for(path), row | extra)
    est.close()


@pytest.fixture
def lib(tmp_path: Path):
    root, state = tmp_path / "music", tmp_path / "state"
    write_tone(root / "happy" / "h1.wav", 300)
    write_tone(root / "calm" / "c1.wav", 310)
    u = {n: write_tone(root / "unsorted" / f"{n}.wav", f) for n, f in
         (("u_calm", 320), ("u_energetic", 330), ("u_between", 340), ("u_new", 350))}  # fmt: skip
    inject(state, u["u_calm"], 0.3, -0.7)
    inject(state, u["u_energetic"], -0.2, 0.8)
    inject(state, u["u_between"], 0.6, 0.55)  # as near happy as upbeat
    return root, state, u


def names(tracks) -> list[str]:
    return sorted(t.path.name for t in tracks)


def test_unsorted_tracks_join_nearest_playlists(lib) -> None:
    root, state, u = lib
    views = MusicViews(root, AUDIO_EXTENSIONS, state)
    lists = views.playlists()
    assert "unsorted" not in lists  # a view, not a playlist
    assert names(lists["calm"]) == ["c1.wav", "u_calm.wav"]
    assert names(lists["energetic"]) == ["u_energetic.wav"]
    assert names(lists["happy"]) == ["h1.wav", "u_between.wav"]
    assert names(lists["upbeat"]) == ["u_between.wav"]
    # not analysed yet: it waits in the pending playlist
    assert names(lists["background"]) == ["u_new.wav"]
    assert u["u_calm"].is_file() and (root / "unsorted" / "u_calm.wav").is_file()  # not moved
    assert views.estimate(u["u_calm"])["arousal"] == -0.7
    # New analysis results reach the views at the next refresh.
    inject(state, u["u_new"], 0.3, -0.7)
    views.mark_dirty()
    assert views.refresh_if_changed() is True
    assert "u_new.wav" in names(views.tracks("calm"))
    assert "background" not in views.playlists()
    assert views.refresh_if_changed() is False
    no_wait = MusicViews(root, AUDIO_EXTENSIONS, state, SortingConfig(pending_playlist=None))
    assert no_wait.tracks("background") == []


def make_core(root: Path, state: Path):
    cfg = parse_config({"player": {"backend": "null", "shuffle": False}})
    loaded = replace(load_config(None), config=cfg)
    clock = SimClock()
    views = MusicViews(root, AUDIO_EXTENSIONS, state, cfg.music.sorting)
    player = NullPlayer(cfg.player, clock=clock.monotonic)
    core = Core(loaded, player, views, clock)
    core.attach_player_hooks()
    core.start()
    return core, player, views


def test_core_plays_views_and_corrections_win(lib) -> None:
    root, state, _ = lib
    core, player, views = make_core(root, state)
    core.override("calm", 600)
    assert player.state().playlist == "calm"
    assert names(player._order.items) == ["c1.wav", "u_calm.wav"]
    # A correction moves the track at once: out of calm (the player's list follows), into
    # energetic, and it persists for the next daemon.
    entry = core.retag("unsorted/u_calm.wav", "energetic")
    assert entry == {"track": str(root / "unsorted" / "u_calm.wav"), "playlist": "energetic"}
    assert names(player._order.items) == ["c1.wav"]
    assert names(views.tracks("energetic")) == ["u_calm.wav", "u_energetic.wav"]
    again = MusicViews(root, AUDIO_EXTENSIONS, state)
    assert names(again.tracks("energetic")) == ["u_calm.wav", "u_energetic.wav"]
    # Folder tracks can be corrected too; removing the correction restores the estimate.
    core.retag(str(root / "calm" / "c1.wav"), "mellow")
    assert names(views.tracks("mellow")) == ["c1.wav"]
    core.retag("unsorted/u_calm.wav", None)
    assert "u_calm.wav" in names(views.tracks("calm"))
    for track, playlist, why in (
        ("unsorted/u_calm.wav", "nope", "unknown playlist"),
        ("../escape.wav", "calm", "not inside"),
        ("unsorted/missing.wav", "calm", "not an audio file"),
    ):
        with pytest.raises(CommandError, match=why):
            core.retag(track, playlist)


def test_retag_refused_without_views(lib) -> None:
    from kiosk.library.library import Library

    root, _, _ = lib
    cfg = load_config(None).config.player.model_copy(update={"backend": "null"})
    core = Core(load_config(None), NullPlayer(cfg), Library(root), SimClock())
    with pytest.raises(CommandError, match="self-sorting playlists are off"):
        core.retag("a.wav", "calm")


def test_staff_retag_the_playing_track_through_the_dispatcher(lib) -> None:
    from kiosk.core.api import STAFF
    from kiosk.core.dispatch import Dispatcher

    root, state, _ = lib
    core, _player, views = make_core(root, state)
    core.override("calm", 600)
    core.poll()
    playing = core.status().track["path"]
    r = Dispatcher(core, "web").dispatch(
        "retag", {"track": "current", "playlist": "energetic"}, origin=STAFF
    )
    assert r["ok"], r
    assert r["retag"] == {"track": playing, "playlist": "energetic"}
    assert Path(playing).name in names(views.tracks("energetic"))
    assert Path(playing).name not in names(views.tracks("calm"))
