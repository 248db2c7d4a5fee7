"""Skip limit and block list, through the one dispatcher every front end uses."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime

import pytest
from controls_helpers import make_music, playing, real_core

from kiosk.core.api import OPERATOR, STAFF
from kiosk.core.commands import STAFF_COMMANDS
from kiosk.core.dispatch import Dispatcher
from kiosk.library.blocklist import BlockList


def skip(core, clock, d, source=STAFF):
    r = d.dispatch("next", {}, origin=source)
    clock.advance(1.5)  # the 1 s skip fade ends
    core.poll()
    return r


def test_staff_skips_are_limited_and_the_refusal_says_when(tmp_path):
    core, _player, clock = real_core(make_music(tmp_path / "m", 10))
    d = Dispatcher(core)
    for i in range(6):
        before = playing(core)
        assert skip(core, clock, d)["ok"], i
        assert playing(core) != before
        clock.advance(60)
    assert core.skip_allowance() == {"limit": 6, "left": 0}
    before = playing(core)
    r = d.dispatch("next", {}, origin=STAFF)
    # The first skip was at 12:00:00; it leaves the window at 13:00.
    first = datetime.fromtimestamp(datetime(2026, 11, 18, 13, 0).timestamp()).astimezone()
    assert r["ok"] is False
    assert r["error"] == f"skip limit: 6 per hour, next at {first:%H:%M}"
    assert playing(core) == before  # refused: nothing changed
    # The operator (MQTT, kiosk ctl) is not limited.
    assert skip(core, clock, d, OPERATOR)["ok"]
    assert skip(core, clock, d)["ok"] is False
    clock.advance(3600 - 6 * 61)  # one hour after the first staff skip
    assert skip(core, clock, d)["ok"]


def test_skip_limit_zero_is_unlimited(tmp_path):
    core, _player, clock = real_core(
        make_music(tmp_path / "m", 4),
        config={"player": {"backend": "null", "skip_limit_per_hour": 0}},
    )
    d = Dispatcher(core)
    assert all(skip(core, clock, d)["ok"] for _ in range(20))
    assert core.skip_allowance()["left"] is None


def test_staff_role_only_gets_staff_commands(tmp_path):
    core, _player, _clock = real_core(make_music(tmp_path / "m", 3))
    d = Dispatcher(core)
    for name, payload in [
        ("pause", {}),
        ("resume", {}),
        ("override", {"mood": "happy"}),
        ("reload", {}),
        ("rescan", {}),
        ("unblock", {"artist": "x"}),
    ]:
        r = d.dispatch(name, payload, origin=STAFF)
        assert r["ok"] is False and "operator role" in r["error"], name
    assert core.status().paused is False
    assert d.dispatch("volume", {"level": 40}, origin=STAFF)["ok"]
    assert d.dispatch("volume", {"level": 400}, origin=STAFF)["ok"] is False
    assert {"next", "volume", "block"} <= STAFF_COMMANDS


def test_blocking_the_playing_track_skips_it_and_it_never_returns(tmp_path):
    core, player, clock = real_core(make_music(tmp_path / "m", 50), state=tmp_path / "state")
    d = Dispatcher(core)
    victim = playing(core)
    r = d.dispatch("block", {"track": "current"}, origin=STAFF)
    assert r["ok"], r
    assert r["blocked"] == {"track": "background/" + os.path.basename(victim)}
    assert player.state().track.path.as_posix() != victim  # skipped at once...
    assert player.state().volume > 0 and player.levels()  # ...with a fade, not a cut
    clock.advance(1.5)
    core.poll()
    seen = set()
    for _ in range(120):  # more than two whole shuffle cycles
        assert skip(core, clock, d, OPERATOR)["ok"]
        seen.add(playing(core))
    assert victim not in seen and len(seen) == 49


def test_block_artist_and_pattern_are_case_insensitive(tmp_path):
    core, _player, clock = real_core(make_music(tmp_path / "m", 20))
    d = Dispatcher(core)
    assert d.dispatch("block", {"artist": "artist 3"})["ok"]
    assert d.dispatch("block", {"pattern": "SONG 1*"})["ok"]  # wildcard: whole text
    assert d.dispatch("block", {"pattern": "song 02"})["ok"]  # plain: anywhere
    seen = set()
    for _ in range(40):
        assert skip(core, clock, d, OPERATOR)["ok"]
        seen.add(os.path.basename(playing(core)))
    assert not any("Artist 3" in s for s in seen)
    assert "02 - Artist 2 - Song 02.ogg" not in seen
    blocks = d.dispatch("blocks", {})["blocks"]
    assert {"artist": "artist 3", "source": "command"} in blocks
    assert d.dispatch("unblock", {"artist": "ARTIST 3"})["ok"]
    assert d.dispatch("unblock", {"artist": "nobody"})["error"] == "artist 'nobody' is not blocked"


def test_block_list_survives_restart_and_usb_import(tmp_path):
    state = tmp_path / "state"
    v1 = make_music(tmp_path / "v1", 5)
    root = tmp_path / "music"
    root.symlink_to(v1)
    core, _player, _clock = real_core(root, state=state)
    victim = os.path.basename(playing(core))
    assert Dispatcher(core).dispatch("block", {"track": "current"})["ok"]
    saved = json.loads((state / "blocklist.json").read_text())
    assert saved["rules"] == [{"track": f"background/{victim}"}]
    # The importer installs a new version and swaps the root symlink.
    shutil.copytree(v1, tmp_path / "v2")
    tmp = tmp_path / "music.new"
    tmp.symlink_to(tmp_path / "v2")
    os.replace(tmp, root)
    core2, _p2, clock2 = real_core(root, state=state)  # a restart, on the new version
    d2 = Dispatcher(core2)
    for _ in range(12):
        assert skip(core2, clock2, d2, OPERATOR)["ok"]
        assert os.path.basename(playing(core2)) != victim
        assert "/v2/" in playing(core2)


def test_config_seeds_the_list_and_cannot_be_unblocked_remotely(tmp_path):
    cfg = {"music": {"root": str(tmp_path / "m"), "blocked": [{"artist": "Artist 1"}]}}
    core, _player, clock = real_core(make_music(tmp_path / "m", 10), config=cfg)
    d = Dispatcher(core)
    assert d.dispatch("blocks", {})["blocks"] == [{"artist": "artist 1", "source": "config"}]
    r = d.dispatch("unblock", {"artist": "Artist 1"})
    assert r["ok"] is False and "music.blocked" in r["error"]
    for _ in range(20):
        skip(core, clock, d, OPERATOR)
        assert "Artist 1 -" not in playing(core)


def test_a_fully_blocked_playlist_falls_back_to_other_music(tmp_path):
    root = make_music(tmp_path / "m", 3, "background")
    make_music(root, 3, "calm")
    core, _player, clock = real_core(root)
    assert core.status().playlist == "background"
    assert Dispatcher(core).dispatch("block", {"pattern": "*/background/*"})["ok"] is True
    clock.advance(5)
    core.poll()
    st = core.status()
    assert st.playlist == "calm" and "/calm/" in st.track["path"]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "exactly one"),
        ({"track": "a", "artist": "b"}, "exactly one"),
        ({"track": ""}, "at least 1"),
        ({"artist": "x" * 201}, "at most 200"),
        ({"pattern": "a\nb"}, "printable"),
        ({"artist": 5}, "string"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_bad_block_payloads_are_refused_and_change_nothing(tmp_path, payload, error):
    core, _player, _clock = real_core(make_music(tmp_path / "m", 3))
    r = Dispatcher(core).dispatch("block", payload)
    assert r["ok"] is False and error in r["error"], r
    assert core.blocks() == []


def test_unsaveable_block_is_refused_and_changes_nothing(tmp_path):
    state = tmp_path / "state"
    core, _player, _clock = real_core(make_music(tmp_path / "m", 3), state=state)
    before = playing(core)
    state.write_text("a file where the state folder should be")  # fails for root too
    r = Dispatcher(core).dispatch("block", {"track": "current"})
    assert r["ok"] is False and "cannot be saved" in r["error"]
    assert core.blocks() == [] and playing(core) == before


def test_damaged_block_file_is_kept_aside(tmp_path):
    path = tmp_path / "blocklist.json"
    path.write_text("{not json", encoding="utf-8")
    bl = BlockList(path)
    assert bl.rules() == [] and (tmp_path / "blocklist.damaged").exists()
    path.write_text(json.dumps({"rules": [{"artist": "A"}, {"nonsense": 1}, "x"]}))
    assert BlockList(path).rules() == [{"artist": "a", "source": "command"}]
