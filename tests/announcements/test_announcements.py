"""Announcements: when they are due, the ducking around them, and a real libvlc voice."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from music_helpers import FifoCapture, dominant_hz, write_tone

from kiosk.announcements.announcer import MessageAnnouncer, Schedule
from kiosk.announcements.voice import NullVoice
from kiosk.config import parse_config
from kiosk.core.dispatch import Dispatcher
from kiosk.library.tracks import Track
from kiosk.player.config import PlayerConfig
from kiosk.player.null import NullPlayer

MON_10 = datetime(2026, 11, 16, 10, 0, 20)  # a Monday


def rules(**kw):
    return parse_config({"announcements": {"rules": kw.pop("rules"), **kw}}).announcements


def test_every_n_tracks():
    s = Schedule(rules(rules=[{"folder": "a", "every_tracks": 3}]).rules)
    assert [bool(s.on_track()) for _ in range(7)] == [False, False, True] * 2 + [False]


def test_timed_rules_fire_once_on_their_days_and_are_dropped_while_closed():
    cfg = rules(rules=[{"folder": "a", "at": ["10:00", "14:00"], "days": ["mon", "tue"]}])
    s = Schedule(cfg.rules)
    assert s.timed(MON_10.replace(hour=9, minute=59), True) == []
    assert s.timed(MON_10, True) == [0]
    assert s.timed(MON_10.replace(second=50), True) == []  # once per day and time
    assert s.timed(MON_10.replace(minute=5), True) == []  # too late for the next poll
    assert s.timed(MON_10.replace(day=21), True) == []  # Saturday: not in days
    closed = Schedule(cfg.rules)
    assert closed.timed(MON_10.replace(hour=14), False) == []  # closed: dropped...
    assert closed.timed(MON_10.replace(hour=14, minute=1), True) == []  # ...not queued


@pytest.mark.parametrize(
    "bad",
    [
        [{"folder": "a"}],
        [{"folder": "a", "every_tracks": 2, "at": ["10:00"]}],
        [{"folder": "a", "at": ["25:00"]}],
        [{"folder": "a", "at": []}],
        [{"folder": "a", "every_tracks": 0}],
    ],
)
def test_bad_rules_are_config_errors(bad):
    from kiosk.config import ConfigError

    with pytest.raises(ConfigError, match=r"announcements\.rules"):
        rules(rules=bad)


def music_player(tmp_path: Path) -> NullPlayer:
    player = NullPlayer(PlayerConfig(backend="null", volume=60))
    song = tmp_path / "song.wav"
    write_tone(song, 880, 0.2)
    player.play_playlist("background", [Track(song)] * 2, 0.0)
    return player


def wait(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_music_ducks_under_the_message_and_comes_back(tmp_path):
    write_tone(tmp_path / "offers" / "01.wav", 440, 0.6)
    write_tone(tmp_path / "offers" / "02.wav", 440, 0.6)
    cfg = rules(duck_volume=30, duck_ramp_s=0.1, rules=[{"folder": str(tmp_path / "offers"),
                                                         "every_tracks": 2}])  # fmt: skip
    player = music_player(tmp_path)
    voice = NullVoice()
    a = MessageAnnouncer(cfg, player, voice)
    try:
        a.on_track()
        assert not a.busy()
        a.on_track()  # the second track: due
        wait(lambda: voice.played)
        assert player.state().volume == 18  # 30 % of 60
        wait(lambda: not a.busy())
        assert player.state().volume == 60 and player.state().playing
        assert [p.name for p in voice.played] == ["01.wav"]
        assert a.announce("02.wav").name == "02.wav"  # the command: a file in the folder
        wait(lambda: len(voice.played) == 2)
        with pytest.raises(ValueError, match="playing"):
            a.announce("01.wav")
        wait(lambda: not a.busy())
        for bad in ("../song.wav", str(tmp_path / "song.wav"), "nope.wav", "/etc/passwd"):
            with pytest.raises(ValueError, match="no audio file"):
                a.announce(bad)
    finally:
        a.close()


def test_volume_changed_during_a_message_is_kept(tmp_path):
    write_tone(tmp_path / "m" / "01.wav", 440, 0.5)
    cfg = rules(duck_ramp_s=0.0, rules=[{"folder": str(tmp_path / "m"), "every_tracks": 1}])
    player = music_player(tmp_path)
    voice = NullVoice()
    a = MessageAnnouncer(cfg, player, voice)
    try:
        a.on_track()
        wait(lambda: voice.played)
        player.set_volume(45)  # an operator, meanwhile
        wait(lambda: not a.busy())
        assert player.state().volume == 45
    finally:
        a.close()


def test_announce_command_without_rules_is_refused(tmp_path):
    from dataclasses import replace

    from kiosk.config import load_config
    from kiosk.core.core import Core

    loaded = replace(load_config(None), config=parse_config({"player": {"backend": "null"}}))
    core = Core(loaded, NullPlayer(loaded.config.player), None)
    r = Dispatcher(core).dispatch("announce", {"file": "x.wav"})
    assert r["ok"] is False and "announcements are off" in r["error"]
    assert Dispatcher(core).dispatch("announce", {"file": "x"}, origin="staff")["ok"] is False


def test_real_libvlc_voice_plays_over_the_ducked_music(tmp_path, vlc_module):
    from kiosk.announcements.voice import VlcVoice
    from kiosk.library.library import Library
    from kiosk.player.player import create_player

    for i in range(2):
        write_tone(tmp_path / "music" / "bg" / f"{i}.wav", 880, 3.0)
    write_tone(tmp_path / "offers" / "offer.wav", 440, 1.0)
    music_out = FifoCapture(tmp_path / "music.wav")
    voice_out = FifoCapture(tmp_path / "voice.wav")
    pcfg = PlayerConfig(aout="afile", wav_path=str(music_out.path), volume=60)
    player = create_player(pcfg)
    voice = VlcVoice(pcfg, str(voice_out.path), tmp_path)
    cfg = rules(duck_volume=30, duck_ramp_s=0.2,
                rules=[{"folder": str(tmp_path / "offers"), "every_tracks": 1}])  # fmt: skip
    a = MessageAnnouncer(cfg, player, voice)
    levels = []
    try:
        player.play_playlist("bg", Library(tmp_path / "music").tracks("bg"), 0.0)
        t_end = time.monotonic() + 0.5
        while time.monotonic() < t_end:
            player.poll()
            time.sleep(0.02)
        a.announce("offer.wav")
        t_end = time.monotonic() + 3.0
        while time.monotonic() < t_end:
            player.poll()
            levels.append((a.busy(), [lv for _t, lv in player.levels()]))
            time.sleep(0.02)
        assert not a.busy() and player.state().playing and a.played
    finally:
        a.close()
        player.close()
        music_out.close()
        voice_out.close()
    during = [max(lv) for busy, lv in levels[5:-5] if busy and lv]
    after = [max(lv) for busy, lv in levels if not busy and lv]
    assert during and min(during) == 18  # the music went down to 30 % under the message
    assert after[-1] == 60  # and came back to full level
    spoken = voice_out.samples()
    assert len(spoken) > 0.8 * 22050 and abs(dominant_hz(spoken, 22050) - 440) < 10
    assert abs(dominant_hz(music_out.samples(), 22050) - 880) < 10  # the music kept playing


def test_daemon_plays_announcements_and_the_command_reaches_them(tmp_path):
    import threading

    from kiosk.config import load_config
    from kiosk.service.app import Daemon

    write_tone(tmp_path / "music" / "background" / "a.wav", 880, 1.0)
    write_tone(tmp_path / "offers" / "hello.wav", 440, 0.3)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"camera: {{backend: demo, interval_s: 1}}\nmusic: {{root: {tmp_path}/music}}\n"
        f'player: {{backend: "null"}}\nservice: {{state_dir: {tmp_path}/state}}\n'
        f"announcements: {{duck_ramp_s: 0, rules: [{{folder: offers, every_tracks: 1}}]}}\n"
    )
    daemon = Daemon(load_config(cfg))
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(daemon.run()), daemon=True)
    t.start()
    try:
        wait(lambda: daemon.core is not None and daemon.core.announcer is not None, 30)
        wait(lambda: daemon.core.announcer.played, 30)  # the first track was one track
        wait(lambda: not daemon.core.announcer.busy())
        r = Dispatcher(daemon.core).dispatch("announce", {"file": "hello.wav"})
        assert r["ok"] and r["announced"] == {"file": "hello.wav"}
        wait(lambda: len(daemon.core.announcer.played) >= 2)
    finally:
        daemon.request_stop()
        t.join(30)
    assert rc == [0]
