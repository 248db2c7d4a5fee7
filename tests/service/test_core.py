"""The core API: commands, refusals that change nothing, events, thread safety."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import replace
from datetime import datetime

import pytest
from fakes import FakeLibrary, FakePlayer, sure_face

from kiosk.config import load_config, parse_config
from kiosk.core.api import CommandError, KioskApi
from kiosk.core.core import Core
from kiosk.service.clock import SimClock

ALL = {
    "background": 2,
    "calm": 2,
    "energetic": 2,
    "happy": 3,
    "mellow": 2,
    "upbeat": 2,
    "uplifting": 2,
}


def make_core(policy: dict | None = None, lists: dict | None = None, path=None):
    cfg = parse_config({"policy": policy or {"min_dwell_s": 30}})
    loaded = replace(load_config(None), config=cfg, path=path)
    clock = SimClock(start_wall=datetime(2026, 11, 18, 12, 0).timestamp())
    player, library = FakePlayer(), FakeLibrary(ALL if lists is None else lists)
    core = Core(loaded, player, library, clock)
    events: list = []
    core.events.subscribe(events.append)
    core.start()
    return core, player, library, clock, events


def kinds(events, kind):
    return [e.data for e in events if e.kind == kind]


def feed(core, clock, mood: str | None, n: int = 4, step: float = 3.0):
    for _ in range(n):
        core.add_sample([sure_face(mood)] if mood else [])
        clock.advance(step)


def test_core_satisfies_the_api_protocol():
    core, *_ = make_core()
    assert isinstance(core, KioskApi)


def test_start_plays_default_and_reports():
    core, player, _, _, events = make_core()
    assert player.calls[0][:2] == ("play", "background")
    assert kinds(events, "playlist") == [{"from": None, "to": "background", "reason": "startup"}]
    st = core.status()
    assert st.playlist == "background" and st.mood is None and not st.paused
    assert st.version and st.camera["ok"] is True


def test_samples_drive_the_music_with_events():
    core, player, _, clock, events = make_core()
    feed(core, clock, "happy")
    plays = [c for c in player.calls if c[0] == "play"]
    assert plays[-1] == ("play", "happy", 3.0)  # the switch crossfades (player.crossfade_s)
    sw = kinds(events, "playlist")[-1]
    assert sw == {"from": "background", "to": "happy", "reason": "mood"}
    moods = kinds(events, "mood")
    assert len(moods) == 4 and moods[-1]["mood"] == "happy" and moods[-1]["audience"]
    samples = kinds(events, "sample")
    assert samples[0] == {
        "faces": 1,
        "faces_ignored": 0,
        "emotions": {"happy": 1},
        "inference_ms": 0.0,
        "camera_ok": True,
    }
    core.poll()
    tr = kinds(events, "track")[-1]
    assert tr["playlist"] == "happy" and tr["title"] == "happy 0" and tr["artist"] == "Band"
    assert core.status().track["path"].endswith("happy/0.ogg")


def test_faces_under_min_face_score_are_not_counted_in_the_sample():
    core, _, _, _, events = make_core()
    weak = sure_face("sad", x=400.0)
    weak.score = core.window.cfg.min_face_score / 2
    core.add_sample([sure_face("happy"), weak])
    sample = kinds(events, "sample")[-1]
    assert sample["faces"] == 1 and sample["faces_ignored"] == 1
    assert sample["emotions"] == {"happy": 1}
    assert kinds(events, "mood")[-1]["faces"] == 1


def test_event_timestamps_come_from_the_clock():
    _core, _, _, clock, events = make_core()
    assert events[0].ts == pytest.approx(clock.time())


def test_volume_command_and_refusals():
    core, player, _, _, _events = make_core()
    core.set_volume(55)
    assert player.st.volume == 55 and core.status().volume == 55
    core.set_volume(100)
    assert core.status().volume == 90  # clamped by the player's limits
    before = copy.deepcopy(core.status())
    for bad in (-1, 101, "50", None, True, float("nan"), float("inf")):
        with pytest.raises(CommandError):
            core.set_volume(bad)
    assert core.status() == before


def test_pause_resume_next():
    core, player, _, _, _ = make_core()
    core.next_track()
    assert player.calls[-1] == ("next",)
    core.pause()
    core.pause()  # idempotent
    assert core.status().paused and player.calls.count(("pause",)) == 1
    with pytest.raises(CommandError, match="resume first"):
        core.next_track()
    core.resume()
    assert not core.status().paused and player.calls[-1] == ("resume",)
    core.resume()  # idempotent


def test_switch_while_paused_waits_for_resume():
    core, player, _, clock, _events = make_core()
    core.pause()
    feed(core, clock, "happy")
    assert core.status().playlist == "happy"  # the decision is made...
    assert player.st.playlist == "background"  # ...but nothing plays while paused
    core.resume()
    assert player.st.playlist == "happy" and not player.st.paused


def test_override_and_its_refusals_leave_state_unchanged():
    core, player, _, clock, events = make_core()
    before = copy.deepcopy(core.status())
    for args in (("furious", 60), ("happy", -1), ("happy", 10**9), (None, 5), ("happy", "x")):
        with pytest.raises(CommandError):
            core.override(*args)
    assert core.status() == before and player.calls[-1][:2] == ("play", "background")
    core.override("sad", 60)
    st = core.status()
    assert st.playlist == "mellow" and st.override["mood"] == "sad"
    assert st.override["expires_at"] == pytest.approx(clock.time() + 60)
    assert kinds(events, "playlist")[-1]["reason"] == "override"
    clock.advance(61)
    core.poll()
    assert core.status().override is None and core.status().playlist == "background"
    assert kinds(events, "playlist")[-1]["reason"] == "override_ended"


def test_clear_override():
    core, *_ = make_core()
    core.override("upbeat", 600)
    core.clear_override()
    core.clear_override()  # nothing to clear: fine
    assert core.status().override is None and core.status().playlist == "background"


def test_override_of_empty_playlist_is_refused():
    core, *_ = make_core(lists={**ALL, "mellow": 0})
    with pytest.raises(CommandError, match="no music"):
        core.override("sad", 60)


def test_empty_folder_falls_back_and_rescan_notices_new_music():
    core, player, library, clock, _events = make_core(lists={**ALL, "happy": 0})
    feed(core, clock, "happy")
    assert core.status().playlist == "background"
    library.set(ALL)
    core.rescan_library()
    assert core.status().playlist == "happy" and player.st.playlist == "happy"


def test_library_without_music_is_a_fault_and_clears():
    core, _player, library, _clock, events = make_core(lists={})
    assert core.status().playlist is None
    assert kinds(events, "fault")[0]["component"] == "library"
    library.set(ALL)
    assert core.refresh_library() is True
    assert core.status().playlist == "background"
    assert kinds(events, "fault")[-1] == {
        "component": "library",
        "message": "music found",
        "ok": True,
    }


def test_camera_fault_keeps_the_music_and_clears():
    core, player, _, _, events = make_core()
    core.camera_fault("no /dev/video0")
    core.camera_fault("no /dev/video0")  # same error: one event
    st = core.status()
    assert st.camera["ok"] is False and st.camera["error"] == "no /dev/video0"
    assert st.playlist == "background" and ("stop", 2.0) not in player.calls
    assert len([f for f in kinds(events, "fault") if f["component"] == "camera"]) == 1
    core.camera_recovered()
    assert core.status().camera["ok"] is True
    assert kinds(events, "fault")[-1]["ok"] is True


def test_camera_fault_never_carries_a_url_password():
    core, _player, _, _, events = make_core()
    core.camera_fault("cannot open camera 'rtsp://admin:s3cret@10.0.0.5/s1'")
    assert "s3cret" not in core.status().camera["error"]
    assert all("s3cret" not in f["message"] for f in kinds(events, "fault"))


def test_player_errors_are_faults_that_clear_on_the_next_track():
    core, _player, _, _, events = make_core()
    core.poll()  # first track seen
    core.player_error_callback("bad.mp3", "unreadable")
    core.poll()
    assert kinds(events, "fault")[-1] == {
        "component": "player",
        "message": "bad.mp3 unreadable",
        "ok": False,
    }
    core.next_track()
    core.poll()
    assert kinds(events, "fault")[-1]["ok"] is True


def test_idle_player_is_restarted_after_backoff():
    core, player, _, clock, _ = make_core()
    player.st.playing = False
    core.poll()
    n = len([c for c in player.calls if c[0] == "play"])
    clock.advance(6)
    core.poll()
    assert len([c for c in player.calls if c[0] == "play"]) == n + 1


def test_closing_time_stops_and_resume_is_refused():
    schedule = {"enabled": True, "open": "09:00", "close": "12:00"}  # clock starts at 12:00
    core, _player, _, _, _events = make_core(policy={"schedule": schedule})
    assert core.status().playlist is None
    core.pause()
    with pytest.raises(CommandError, match="closed per schedule"):
        core.resume()
    assert core.status().paused


def test_reload_config_applies_and_bad_file_changes_nothing(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("policy:\n  strategy: uplift\n  min_dwell_s: 0\n")
    core, _player, _, clock, _events = make_core(path=path)
    feed(core, clock, "sad")
    assert core.status().playlist == "mellow"  # started with the match table
    core.reload_config()
    assert core.status().playlist == "uplifting" and core.generation == 1
    path.write_text("policy:\n  strategy: mirror\n")
    before = copy.deepcopy(core.status())
    with pytest.raises(CommandError, match=r"policy\.strategy"):
        core.reload_config()
    assert core.status() == before and core.generation == 1
    path.unlink()
    with pytest.raises(CommandError, match="cannot read"):
        core.reload_config()


def test_listener_may_call_back_into_the_core():
    core, _, _, clock, _ = make_core()
    seen = []
    core.events.subscribe(lambda e: seen.append(core.status().playlist), {"playlist"})
    feed(core, clock, "happy")
    assert seen == ["happy"]


class SerialCheckPlayer(FakePlayer):
    """Records when two threads are inside the player at once (the core must serialise)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.overlaps = 0
        self.guard = threading.Lock()

    def _enter(self):
        with self.guard:
            self.inside += 1
            if self.inside > 1:
                self.overlaps += 1
        time.sleep(0.0002)  # widen the window a race needs
        with self.guard:
            self.inside -= 1

    def set_volume(self, level):
        self._enter()
        super().set_volume(level)

    def play_playlist(self, name, tracks, crossfade_s):
        self._enter()
        super().play_playlist(name, tracks, crossfade_s)

    def state(self):
        self._enter()
        return super().state()


def test_commands_from_another_thread_are_serialised():
    cfg = parse_config({"policy": {"min_dwell_s": 0, "hysteresis": 0}})
    loaded = replace(load_config(None), config=cfg)
    player = SerialCheckPlayer()
    core = Core(loaded, player, FakeLibrary(ALL), SimClock())
    events: list = []
    core.events.subscribe(events.append)
    core.start()
    errors: list[BaseException] = []
    asked: list[int] = []

    def hammer():
        try:
            for i in range(300):
                asked.append(i % 100)
                core.set_volume(i % 100)
                core.status()
                if i % 50 == 0:
                    core.override("happy", 5)
                    core.clear_override()
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=hammer)
    t.start()
    for i in range(300):
        core.add_sample([sure_face("sad" if i % 7 else "happy")])
        core.poll()
    t.join()
    assert not errors
    assert player.overlaps == 0  # never two threads in the player at once
    # every volume command reached the player, in order, and the last one stands
    assert [c[1] for c in player.calls if c[0] == "volume"] == asked
    assert core.status().volume == 90  # 99, clamped by the player's max
    assert core.status().override is None
    # the samples were not lost either: all 300 went into the window
    assert len([e for e in events if e.kind == "sample"]) == 300


def test_status_forgets_the_crowd_when_samples_stop():
    core, _, _, clock, _ = make_core()
    feed(core, clock, "happy")
    assert core.status().mood == "happy"
    clock.advance(31)  # camera down longer than the window
    core.poll()
    st = core.status()
    assert st.mood is None and st.faces == 0


def test_camera_fault_keeps_the_current_mood_music():
    core, _, _, clock, _ = make_core()
    feed(core, clock, "happy")
    core.camera_fault("unplugged")
    clock.advance(600)
    core.poll()
    st = core.status()
    assert st.playlist == "happy" and st.mood == "happy" and st.camera["ok"] is False
