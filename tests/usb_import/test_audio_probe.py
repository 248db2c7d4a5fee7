"""Audio is recognised by its bytes; the daemon is told to rescan by signal."""

from __future__ import annotations

import subprocess
import sys

from audiofiles import make_mp3, make_sox, make_wav

from kiosk.usb_import import notify as import_notify
from kiosk.usb_import.audio_probe import probe, sniff, sniff_file


def test_sniff_magic_bytes():
    assert sniff(b"OggS\x00\x02" + bytes(20)) == "ogg"
    assert sniff(b"fLaC\x00\x00\x00\x22") == "flac"
    assert sniff(b"RIFF\x24\x08\x00\x00WAVEfmt ") == "wav"
    assert sniff(b"\x00\x00\x00\x20ftypM4A ") == "mp4"
    assert sniff(b"\xff\xfb\x90\x00") == "mp3"  # MPEG-1 layer III
    assert sniff(b"\xff\xf1\x50\x80") == "aac"  # ADTS: same sync, layer bits 00
    assert sniff(b"RIFF\x24\x08\x00\x00AVI LIST") is None
    assert sniff(b"\x89PNG\r\n\x1a\n") is None
    assert sniff(b"") is None


def test_id3_tag_is_skipped(tmp_path):
    mp3 = make_mp3(tmp_path / "a.mp3")
    tagged = tmp_path / "tagged.mp3"
    # ID3v2.3 header with a 100-byte (syncsafe) body of padding, then the frames.
    tagged.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x64" + bytes(100) + mp3.read_bytes())
    assert sniff_file(tagged) == "mp3"
    assert probe(tagged)[0] == "mp3"


def test_probe_real_files(tmp_path):
    assert probe(make_wav(tmp_path / "a.wav"))[0] == "wav"
    assert probe(make_mp3(tmp_path / "b.mp3"))[0] == "mp3"
    assert probe(make_sox(tmp_path / "c.ogg"))[0] == "ogg"
    assert probe(make_sox(tmp_path / "d.flac"))[0] == "flac"


def test_probe_rejects_with_reasons(tmp_path):
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"\xff\xfb" + b"garbage" * 10)
    kind, why = probe(fake)
    assert kind is None and why
    riff = tmp_path / "x.wav"
    riff.write_bytes(make_wav(tmp_path / "ok.wav").read_bytes()[:60])
    kind, why = probe(riff)
    assert kind is None and "truncated" in why
    text = tmp_path / "t.ogg"
    text.write_text("hello")
    kind, why = probe(text)
    assert kind is None and why.startswith("not an audio file")


def test_notify_daemon_sends_sighup_to_the_main_pid(monkeypatch, tmp_path):
    flag = tmp_path / "got-hup"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time, pathlib\n"
            f"signal.signal(signal.SIGHUP, lambda *a: (pathlib.Path({str(flag)!r}).touch(),"
            " sys.exit(0)))\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    real_run = subprocess.run

    def fake_systemctl(cmd, **kw):
        if cmd[1:3] == ["show", "--property=MainPID"]:
            return subprocess.CompletedProcess(cmd, 0, f"{child.pid}\n", "")
        return real_run(cmd, **kw)

    monkeypatch.setattr(import_notify.shutil, "which", lambda _n: "/bin/systemctl")
    monkeypatch.setattr(import_notify.os.path, "isdir", lambda p: p == "/run/systemd/system")
    monkeypatch.setattr(import_notify.subprocess, "run", fake_systemctl)
    note = import_notify.notify_daemon("kiosk.service")
    assert "SIGHUP" in note
    assert child.wait(10) == 0 and flag.exists()


def test_notify_daemon_without_systemd(monkeypatch):
    monkeypatch.setattr(import_notify.os.path, "isdir", lambda _p: False)
    assert "next poll" in import_notify.notify_daemon("kiosk.service")
    assert "not notified" in import_notify.notify_daemon("")
