"""The trajectory play order (iso principle): meet the crowd, then move to the playlist's
place; shuffle's fairness holds. Real core, real views and deck player, a simulated clock."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from pathlib import Path

from fakes import sure_face
from hypothesis import given, settings
from hypothesis import strategies as st
from music_helpers import write_tone

from kiosk.config import load_config, parse_config
from kiosk.core.core import Core
from kiosk.library.names import AUDIO_EXTENSIONS
from kiosk.library.views import CachedEstimates, MusicViews
from kiosk.player.null import NullPlayer
from kiosk.player.trajectory import EMOTION_POINTS, TrajectoryOrder, crowd_point
from kiosk.service.clock import SimClock

CALM = (0.3, -0.7)  # the default place of "calm"


def test_emotion_points_follow_the_circumplex() -> None:
    v, a = zip(*(EMOTION_POINTS[k] for k in ("happy", "surprise")), strict=True)
    assert min(v) > 0 and min(a) > 0  # pleasant, aroused
    for k in ("angry", "fear", "disgust"):
        assert EMOTION_POINTS[k][0] < 0 < EMOTION_POINTS[k][1]  # unpleasant, aroused
    assert EMOTION_POINTS["sad"][0] < 0 and EMOTION_POINTS["sad"][1] < 0
    assert EMOTION_POINTS["neutral"] == (0.0, 0.0)
    assert crowd_point({}) is None
    mix = crowd_point({"happy": 0.5, "sad": 0.5})
    assert mix is not None and math.isclose(mix[0], (EMOTION_POINTS["happy"][0] +
                                                   EMOTION_POINTS["sad"][0]) / 2)  # fmt: skip


def test_core_walks_from_the_crowd_to_the_playlist(tmp_path: Path) -> None:
    root, state = tmp_path / "music", tmp_path / "state"
    sad = EMOTION_POINTS["sad"]
    fractions = (1.0, 0.5, 0.0, 0.75, 0.25)  # file order is not the walk
    est = CachedEstimates(state)
    assert est.cache is not None
    for i, f in enumerate(fractions):
        p = write_tone(root / "calm" / f"t{i}.wav", 300 + 10 * i, seconds=10.0)
        point = (sad[0] + (CALM[0] - sad[0]) * f, sad[1] + (CALM[1] - sad[1]) * f)
        row = {"lufs": -20.0, "peak_db": -6.0, "valence": point[0], "arousal": point[1]}
        est.cache.put(est.cache.key_for(p), row)
    est.close()
    write_tone(root / "background" / "b.wav", 200, seconds=10.0)  # what plays at start
    cfg = parse_config({"player": {"backend": "null", "order": "trajectory"}})
    loaded = replace(load_config(None), config=cfg)
    clock = SimClock()
    views = MusicViews(root, AUDIO_EXTENSIONS, state, cfg.music.sorting)
    player = NullPlayer(cfg.player, clock=clock.monotonic)
    core = Core(loaded, player, views, clock)
    core.attach_player_hooks()
    events: list = []
    core.events.subscribe(events.append, {"track"})
    core.start()
    for _ in range(6):  # a sad crowd
        core.add_sample([sure_face("sad")])
        clock.advance(2.0)
    core.override("calm", 3600)
    played = []
    for _ in range(7):
        clock.advance(1.0)
        core.poll()  # the track is confirmed: a track event
        played.append(core.status().track["path"])
        core.next_track()
    walk = [fractions[int(Path(p).stem[1:])] for p in played]
    # trajectory_tracks 4: crowd (0), 1/4, 1/2, 3/4, goal (1); then a new cycle near the goal,
    # never the goal track twice in a row.
    assert walk[:5] == [0.0, 0.25, 0.5, 0.75, 1.0], walk
    assert walk[5] == 0.75 and walk[6] == 1.0, walk
    tracks = [e.data for e in events if e.data["playlist"] == "calm"]
    assert tracks and all(t["order"] == "trajectory" for t in tracks)
    assert all(t["valence"] is not None and t["arousal"] is not None for t in tracks)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 8),
    points=st.lists(
        st.one_of(st.none(), st.tuples(st.floats(-1, 1), st.floats(-1, 1))),
        min_size=8,
        max_size=8,
    ),
    start=st.one_of(st.none(), st.tuples(st.floats(-1, 1), st.floats(-1, 1))),
    goal=st.one_of(st.none(), st.tuples(st.floats(-1, 1), st.floats(-1, 1))),
    steps=st.integers(1, 10),
    seed=st.integers(0, 2**16),
)
def test_trajectory_is_fair(n, points, start, goal, steps, seed) -> None:
    items = list(range(n))
    est = {i: None if p is None else {"valence": p[0], "arousal": p[1]} for i, p in
           enumerate(points)}  # fmt: skip
    order = TrajectoryOrder(items, est.get, start, goal, steps, random.Random(seed))
    picks = [order.next() for _ in range(3 * n + 1)]
    for c in range(3):  # every cycle plays each track exactly once
        assert sorted(picks[c * n : (c + 1) * n]) == items, picks
    if n > 1:
        assert all(a != b for a, b in itertools.pairwise(picks)), picks
