"""sd_notify datagrams and structured log lines."""

from __future__ import annotations

import io
import json
import logging
import os
import socket

import pytest

from kiosk.service.logs import JsonFormatter, KeyValueFormatter, fields, setup_logging
from kiosk.service.notify import Notifier


def test_without_notify_socket_everything_is_a_noop():
    n = Notifier({})
    assert not n.enabled and n.ready("x") is False and n.watchdog_interval_s is None


def test_datagrams_reach_the_socket(tmp_path):
    path = str(tmp_path / "n.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    try:
        n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"})
        assert n.watchdog_interval_s == 5.0
        assert n.ready("starting")
        assert server.recv(100) == b"READY=1\nSTATUS=starting"
        assert n.status("starting") is False  # unchanged: not resent
        assert n.status("mood: happy")
        assert server.recv(100) == b"STATUS=mood: happy"
        n.watchdog()
        assert server.recv(100) == b"WATCHDOG=1"
        n.reloading()
        assert server.recv(100).startswith(b"RELOADING=1\nMONOTONIC_USEC=")
    finally:
        server.close()


def test_abstract_socket():
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"kiosk-test-{os.getpid()}"
    server.bind("\0" + name)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).stopping()
        assert server.recv(100) == b"STOPPING=1"
    finally:
        server.close()


def test_a_receiver_that_stops_reading_never_blocks_the_sender(tmp_path, monkeypatch):
    """systemd busy: its queue fills up; the daemon loop must not hang on sd_notify."""
    import threading
    import time

    import kiosk.service.notify as notify

    monkeypatch.setattr(notify, "SEND_TIMEOUT_S", 0.05)
    path = str(tmp_path / "full.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)  # never reads
    n = Notifier({"NOTIFY_SOCKET": path})
    results: list[bool] = []
    worst: list[float] = [0.0]

    def send_many():
        while len(results) < 20000 and results.count(False) < 5:  # until the queue is full
            t0 = time.monotonic()
            results.append(n.watchdog())
            worst[0] = max(worst[0], time.monotonic() - t0)

    t = threading.Thread(target=send_many, daemon=True)
    t.start()
    t.join(10)
    server.close()
    assert not t.is_alive(), "sd_notify blocked on a full socket"
    assert results[0] is True and False in results  # the queue did fill up
    assert worst[0] < 1.0


def test_dead_socket_is_not_fatal(tmp_path, caplog):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level(logging.WARNING):
        assert n.watchdog() is False
        assert n.watchdog() is False
    assert len([r for r in caplog.records if "notify failed" in r.message]) == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "abc"}, None),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}, 1.0),
    ],
)
def test_watchdog_env(env, expected):
    assert Notifier(env).watchdog_interval_s == expected


def record(msg: str, level=logging.INFO, **kv) -> logging.LogRecord:
    r = logging.LogRecord("kiosk.test", level, __file__, 1, msg, (), None)
    r.__dict__.update(fields(**kv))
    return r


def test_key_value_lines():
    line = KeyValueFormatter().format(record("playlist switch", dst="happy", note="two words"))
    assert line.startswith("ts=")
    assert 'level=info logger=kiosk.test msg="playlist switch" dst=happy note="two words"' in line


def test_journal_lines_carry_priority_and_no_timestamp():
    line = KeyValueFormatter(journal=True).format(record("camera fault", logging.WARNING))
    assert line.startswith("<4>level=warning ")
    assert "ts=" not in line


def test_json_lines():
    obj = json.loads(JsonFormatter().format(record("x", retry_in_s=2.0)))
    assert obj["msg"] == "x" and obj["retry_in_s"] == 2.0 and obj["level"] == "info"


def test_setup_logging_replaces_handlers():
    buf = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging("warning", "json", stream=buf)
        logging.getLogger("kiosk.x").info("hidden")
        logging.getLogger("kiosk.x").warning("shown", extra=fields(a=1))
        lines = buf.getvalue().splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["a"] == 1
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
