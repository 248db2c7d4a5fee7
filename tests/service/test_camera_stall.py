"""A camera that hangs forever: the music goes on, the fault is reported, the watchdog is fed.

The daemon runs for real (real models, the null player on real WAV files, the real sd_notify
path into a real datagram socket); only the capture is fake, since no camera is attached.
Two ways of hanging: OpenCV's ``grab()`` never returns (a dead RTSP stream), and a backend's
``read()`` itself never returns (a hung driver, a dead network folder).
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

import kiosk.camera.factory as factory
import kiosk.camera.opencv_cam as opencv_cam
from kiosk.camera.compose import photo
from kiosk.camera.folder import FolderCamera
from kiosk.config import load_config
from kiosk.player.player import create_player
from kiosk.service.app import Daemon

MODELS = Path(__file__).resolve().parents[2] / "models"
RUN_S = 4.0
WATCHDOG_EVERY_S = 0.1


def short_wav(path: Path, seconds: float = 0.4, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = (0.2 * 32767 * np.sin(np.arange(int(seconds * rate)) / 3)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


class Gate:
    """Closed: every call that passes it hangs. Opened: the camera is back."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = 0

    def wait(self) -> None:
        self.entered += 1
        self.open.wait()


class HangingCapture:
    """A cv2.VideoCapture whose grab() blocks until the gate opens (a dead stream)."""

    gate: Gate

    def __init__(self, *args, **kwargs) -> None:
        self.params = args[2] if len(args) > 2 else None

    def isOpened(self) -> bool:
        return True

    def set(self, *args) -> bool:
        return True

    def grab(self) -> bool:
        if not self.gate.open.is_set():
            self.gate.wait()
        return True

    def retrieve(self):
        return True, photo().copy()

    def release(self) -> None:
        pass


class Datagrams:
    """Collects sd_notify datagrams with their arrival times."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.got: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.got.append((time.monotonic(), data.decode()))

    def watchdog_times(self, since: float = 0.0) -> list[float]:
        return [t for t, m in self.got if "WATCHDOG=1" in m.split("\n") and t >= since]


@pytest.fixture
def notify(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(WATCHDOG_EVERY_S * 2 * 1e6)))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    reader = Datagrams(sock)
    yield reader
    reader.stop.set()
    sock.close()


@pytest.fixture
def gate():
    g = Gate()
    yield g
    g.open.set()  # lets the hung threads go at the end


def setup_kiosk(tmp_path: Path, camera_yaml: str) -> tuple[Daemon, list]:
    for name in ("background", "happy"):
        for i in range(3):
            short_wav(tmp_path / "music" / name / f"{i}.wav")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"camera:\n{camera_yaml}  interval_s: 0.2\n  read_timeout_s: 0.3\n"
        "  open_timeout_s: 2\n"
        "service:\n  camera_retry_initial_s: 0.2\n  camera_retry_max_s: 0.4\n"
        "  poll_interval_s: 0.05\n"
        'player:\n  backend: "null"\n  crossfade_s: 0\nmusic:\n  root: music\n'
        f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
        f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
    )
    players: list = []

    def make_player(loaded, backend, core):
        p = create_player(
            loaded.config.player,
            on_track=core.player_track_callback,
            on_error=core.player_error_callback,
            clock=core.clock.monotonic,
        )
        players.append(p)
        return p

    return Daemon(load_config(cfg), make_player=make_player), players


def run_stalled(daemon: Daemon, notify: Datagrams, gate: Gate) -> dict:
    """Run the kiosk RUN_S seconds against the hung camera; return what was seen."""
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(daemon.run()), daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any("READY=1" in m for _, m in notify.got):
        time.sleep(0.02)
    assert any("READY=1" in m for _, m in notify.got), notify.got
    tracks: list = []
    faults: list = []
    daemon.core.events.subscribe(lambda e: tracks.append(e.data["path"]), {"track"})
    daemon.core.events.subscribe(lambda e: faults.append(e.data), {"fault"})
    started = time.monotonic()
    time.sleep(RUN_S)
    status = daemon.core.status()
    stalled = {
        "status": status,
        "tracks": list(tracks),
        "faults": [f for f in faults if f["component"] == "camera"],
        "watchdog": notify.watchdog_times(started),
        "started": started,
        "ended": time.monotonic(),
        "statuses": [m for _, m in notify.got if "STATUS=" in m],
    }
    gate.open.set()  # the camera comes back
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not daemon.core.status().camera["ok"]:
        time.sleep(0.05)
    stalled["recovered"] = daemon.core.status().camera["ok"]
    daemon.request_stop()
    t.join(15)
    stalled["rc"] = rc
    return stalled


def check_stall(seen: dict, error_words: str) -> None:
    # the loop was never blocked long enough to miss the watchdog
    times = [seen["started"], *seen["watchdog"], seen["ended"]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(seen["watchdog"]) >= RUN_S / WATCHDOG_EVERY_S / 3, seen["watchdog"]
    print(f"watchdog: {len(seen['watchdog'])} pings in {RUN_S} s, longest gap {max(gaps):.2f} s")
    # Each faulty step costs about read_timeout_s (0.3) + margin + close; seen: < 1 s. The
    # bound leaves room for a loaded CI machine and is still far from WatchdogSec.
    assert max(gaps) < 2.5, f"watchdog starved for {max(gaps):.2f} s"
    # the music went on: tracks of 0.4 s kept advancing while the camera hung
    assert len(seen["tracks"]) >= 4, seen["tracks"]
    assert seen["status"].playlist == "background"
    # the fault was reported: status, fault event, systemd STATUS line
    assert seen["status"].camera["ok"] is False
    first = seen["faults"][0]
    assert first["ok"] is False and error_words in first["message"], seen["faults"]
    assert any("camera: error" in m for m in seen["statuses"])
    assert seen["recovered"] is True  # reopened once it came back
    assert seen["rc"] == [0]


def test_opencv_grab_that_hangs_forever(tmp_path, notify, gate, monkeypatch):
    HangingCapture.gate = gate
    monkeypatch.setattr(opencv_cam.cv2, "VideoCapture", HangingCapture)
    monkeypatch.setattr(opencv_cam, "_stuck", [])
    daemon, _ = setup_kiosk(tmp_path, "  backend: opencv\n  source: rtsp://192.0.2.1/dead-stream\n")
    seen = run_stalled(daemon, notify, gate)
    assert gate.entered >= 1
    check_stall(seen, "no frame within camera.read_timeout_s=0.3")
    # reopened with back-off, but hung grab threads do not pile up past the cap
    assert gate.entered <= opencv_cam.MAX_STUCK_GRABBERS
    assert "still hung inside the camera driver" in seen["status"].camera["error"]


def test_backend_read_that_hangs_forever(tmp_path, notify, gate, monkeypatch):
    (tmp_path / "frames").mkdir()
    import cv2

    cv2.imwrite(str(tmp_path / "frames" / "a.png"), photo())
    real_read = FolderCamera.read
    opens: list[float] = []

    def hanging_read(self):
        if not gate.open.is_set():
            gate.wait()
        return real_read(self)

    real_open = factory.open_camera

    def counting_open(loaded):
        opens.append(time.monotonic())
        return real_open(loaded)

    monkeypatch.setattr(FolderCamera, "read", hanging_read)
    monkeypatch.setattr(factory, "open_camera", counting_open)
    daemon, _ = setup_kiosk(tmp_path, "  backend: folder\n  source: frames\n")
    seen = run_stalled(daemon, notify, gate)
    check_stall(seen, "hung")
    # one hung call, one thread: no new camera is opened while the old one is stuck
    assert gate.entered == 1
    assert len([t for t in opens if t < seen["ended"]]) == 1


def test_slow_open_is_waited_for_in_the_background(tmp_path, notify, monkeypatch):
    """An RTSP camera may take seconds to connect: no fault meanwhile, the loop runs on."""
    import cv2

    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "a.png"), photo())
    real_open = FolderCamera.open

    def slow_open(self):
        if self._images is None:  # FolderCamera.read calls open() every time
            time.sleep(1.2)  # 4 read timeouts, within open_timeout_s
        real_open(self)

    monkeypatch.setattr(FolderCamera, "open", slow_open)
    daemon, _ = setup_kiosk(tmp_path, "  backend: folder\n  source: frames\n")
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(daemon.run()), daemon=True)
    t.start()
    while daemon.core is None:
        time.sleep(0.01)
    faults: list = []
    samples: list = []
    daemon.core.events.subscribe(faults.append, {"fault"})
    daemon.core.events.subscribe(samples.append, {"sample"})
    started = time.monotonic()
    deadline = started + 10
    while time.monotonic() < deadline and not samples:
        time.sleep(0.02)
    first_sample_after = time.monotonic() - started
    daemon.request_stop()
    t.join(15)
    assert rc == [0]
    assert samples, "the camera never delivered"
    assert first_sample_after >= 1.0  # it really was waiting for the open
    assert not [f for f in faults if f.data["component"] == "camera"]
    times = [started, *notify.watchdog_times(started)]
    assert max(b - a for a, b in itertools.pairwise(times)) < 1.5  # seen: ~0.3 s
