"""policy.experiment: random arms at mood-driven decisions, recorded through the core."""

from __future__ import annotations

from datetime import datetime

import pytest
from history_helpers import query

from kiosk.config import ConfigError, parse_config
from kiosk.mood.policy import Policy
from kiosk.mood.window import MoodState

NOON = datetime(2026, 11, 18, 12, 0)
ALL = {"background", "calm", "energetic", "happy", "mellow", "upbeat", "uplifting"}
NOBODY = MoodState(None, 0.0, {}, 0, False, 5)
SAD = MoodState("sad", 0.8, {"sad": 0.8, "neutral": 0.2}, 3, True, 5)


def policy(**experiment) -> Policy:
    cfg = {"strategy": "uplift", "min_dwell_s": 0, "experiment": experiment}
    return Policy(parse_config({"policy": cfg}).policy)


def run_decisions(p: Policy, n: int) -> list:
    """Alternate no audience / sad so every second call is a mood-driven decision."""
    p.decide(0.0, NOON, NOBODY, ALL)
    out = []
    for i in range(n):
        d = p.decide(1.0 + 2 * i, NOON, SAD, ALL)
        out.append(d)
        assert p.decide(2.0 + 2 * i, NOON, NOBODY, ALL).arm is None  # not mood-driven
    return out


def test_off_by_default_no_arm_and_the_strategy_plays():
    p = Policy(parse_config({"policy": {"strategy": "uplift"}}).policy)
    assert parse_config({}).policy.experiment.enabled is False
    p.decide(0.0, NOON, NOBODY, ALL)
    d = p.decide(1.0, NOON, SAD, ALL)
    assert d.arm is None and d.playlist == "uplifting"


def test_arms_follow_p_and_play_their_table():
    decisions = run_decisions(policy(enabled=True, p=0.3, seed=5), 400)
    arms = [d.arm["arm"] for d in decisions]
    share = arms.count("control") / len(arms)
    assert 0.23 < share < 0.37
    for d in decisions:
        want = "mellow" if d.arm["arm"] == "control" else "uplifting"  # match vs uplift
        assert d.playlist == want
        assert d.arm["strategy"] == "uplift" and d.arm["control"] == "match"
    # seeded: the same draws again
    again = [d.arm["arm"] for d in run_decisions(policy(enabled=True, p=0.3, seed=5), 400)]
    assert again == arms


def test_keep_arm_leaves_the_music_as_it_is():
    decisions = run_decisions(policy(enabled=True, p=0.5, seed=1, control="keep"), 50)
    kept = [d for d in decisions if d.arm["arm"] == "control"]
    assert kept and all(d.playlist == "background" and not d.changed for d in kept)
    assert all(d.playlist == "uplifting" for d in decisions if d.arm["arm"] == "strategy")


@pytest.mark.parametrize("bad", [{"p": 0}, {"p": 1.5}, {"control": "silence"}, {"arms": 2}])
def test_bad_experiment_config_is_named(bad):
    with pytest.raises(ConfigError, match=r"policy\.experiment"):
        parse_config({"policy": {"experiment": bad}})


def test_core_records_the_arm_in_the_history(tmp_path):
    from dataclasses import replace

    from fakes import FakePlayer, sure_face

    from kiosk.config import load_config
    from kiosk.core.core import Core
    from kiosk.history.attach import attach
    from kiosk.service.clock import SimClock

    cfg = parse_config(
        {
            "policy": {"strategy": "uplift", "min_dwell_s": 0,
                       "experiment": {"enabled": True, "p": 0.5, "seed": 3}},
            "mood": {"window_s": 4},
            "service": {"state_dir": str(tmp_path)},
        }
    )  # fmt: skip
    loaded = replace(load_config(None), config=cfg)
    clock = SimClock(start_wall=NOON.timestamp())
    core = Core(loaded, FakePlayer(), None, clock)
    rec = attach(core, loaded, tmp_path)
    core.start()
    for _ in range(10):
        for mood in ("sad",) * 4 + (None,) * 4:
            core.add_sample([sure_face(mood)] if mood else [])
            core.poll()
            clock.advance(2.0)
    rec.close()
    rows = query(tmp_path / "history.sqlite3", "SELECT arm, mood, playlist FROM decisions")
    assert len(rows) == 10
    assert {r[0] for r in rows} == {"strategy", "control"}
    for arm, mood, playlist in rows:
        assert mood == "sad" and playlist == ("uplifting" if arm == "strategy" else "mellow")
