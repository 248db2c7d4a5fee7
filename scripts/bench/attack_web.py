#!/usr/bin/env python3
"""A bounded attack on the staff page of a real ``kiosk run``, on loopback only.

Starts the daemon (folder camera, real models, one sample every 2 s) with the page on a
free 127.0.0.1 port, measures its RSS and how many samples it takes (the STATUS lines it
sends to a fake ``$NOTIFY_SOCKET``, one per sample, in the loop that feeds the watchdog),
then for ``--seconds`` at once: a flood of wrong logins (with spoofed X-Forwarded-For),
live streams past the cap, slowloris connections, 1 MB bodies and 100 KB headers. Prints
one JSON object: RSS before / max during / after, samples per minute before and during
(ratio), whether the music played on and the page still answered.

    python scripts/bench/attack_web.py --seconds 30
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import rss_mb, write_config
from bench_web import free_port

PASSWORD = "attack-operator-pw"


def request(port: int, method: str, path: str, body: bytes = b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body, headers or {})
        r = c.getresponse()
        return r.status, r.getheader("set-cookie"), r.read()
    finally:
        c.close()


def flood_logins(port: int, stop: threading.Event, counts: dict) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        h = {"Content-Type": "application/json", "X-Forwarded-For": f"10.0.{i % 250}.{i % 7}"}
        with contextlib.suppress(OSError):
            s = request(port, "POST", "/login", json.dumps({"password": f"g{i}"}).encode(), h)[0]
            counts[s] = counts.get(s, 0) + 1


def hold(port: int, head: bytes, n: int, stop: threading.Event) -> None:
    socks = []
    while not stop.is_set():
        socks = [s for s in socks if s.fileno() >= 0]
        while len(socks) < n and not stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(head)
                socks.append(s)
            except OSError:
                break
        stop.wait(1.0)
    for s in socks:
        s.close()


def big(port: int, stop: threading.Event) -> None:
    body = b'{"x": "' + b"a" * 1_000_000 + b'"}'
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 100_000 + b"\r\n\r\n"
    while not stop.is_set():
        with contextlib.suppress(OSError):
            request(port, "POST", "/login", body, {"Content-Type": "application/json"})
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 2) as s:
            s.sendall(head)
            s.recv(100)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="how long the attack lasts")
    p.add_argument("--warmup", type=float, default=20.0)
    p.add_argument("--player", default="null")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiosk-attack-") as tmp_s:
        tmp = Path(tmp_s)
        port = free_port()
        (tmp / "pw").write_text(f"operator:{PASSWORD}\n")
        (tmp / "pw").chmod(0o600)
        extra = (
            f"web:\n  enabled: true\n  host: 127.0.0.1\n  port: {port}\n  password_file: {tmp}/pw\n"
        )
        cfg = write_config(tmp, 2.0, args.player, "folder", extra)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(tmp / "notify"))
        notify.settimeout(0.5)
        samples: list[float] = []

        def listen() -> None:
            while True:
                try:
                    msg = notify.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if b"STATUS=" in msg:
                    samples.append(time.monotonic())

        threading.Thread(target=listen, daemon=True).start()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NOTIFY_SOCKET": str(tmp / "notify"),
               "XDG_STATE_HOME": str(tmp / "state")}  # fmt: skip
        log = open(tmp / "kiosk.log", "w")  # noqa: SIM115
        cmd = [sys.executable, "-m", "kiosk", "run", "--config", str(cfg)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=tmp)
        stop = threading.Event()
        try:
            time.sleep(args.warmup)
            if proc.poll() is not None:
                raise SystemExit(f"kiosk run died:\n{(tmp / 'kiosk.log').read_text()[-3000:]}")
            _status, cookie, _ = request(port, "POST", "/login", json.dumps(
                {"password": PASSWORD}).encode(), {"Content-Type": "application/json"})  # fmt: skip
            cookie = cookie.split(";")[0]

            def state() -> dict:
                return json.loads(request(port, "GET", "/api/state", headers={"Cookie": cookie})[2])

            before_track = state()["track"]
            t0 = time.monotonic()
            base = [s for s in samples if t0 - 20 <= s < t0]
            rss_before = rss_mb(proc.pid)
            counts: dict = {}
            sse = f"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode()
            workers = [threading.Thread(target=flood_logins, args=(port, stop, counts))
                       for _ in range(16)]  # fmt: skip
            slow = b"GET / HTTP/1.1\r\n"
            workers += [threading.Thread(target=hold, args=(port, sse, 40, stop)),
                        threading.Thread(target=hold, args=(port, slow, 150, stop)),
                        threading.Thread(target=big, args=(port, stop))]  # fmt: skip
            for w in workers:
                w.start()
            rss_during = []
            while time.monotonic() < t0 + args.seconds:
                rss_during.append(rss_mb(proc.pid))
                time.sleep(1.0)
            t1 = time.monotonic()
            stop.set()
            for w in workers:
                w.join(15)
            during = [s for s in samples if t0 <= s < t1]
            time.sleep(15)
            page_ok = request(port, "GET", "/api/state", headers={"Cookie": cookie})[0] == 200
            after = state()
            out = {
                "attack_s": round(t1 - t0, 1),
                "logins": {str(k): v for k, v in sorted(counts.items())},
                "rss_mb_before": rss_before,
                "rss_mb_max_during": max(rss_during),
                "rss_mb_15s_after": rss_mb(proc.pid),
                "samples_per_min_before": round(len(base) * 3.0, 1),
                "samples_per_min_during": round(len(during) * 60.0 / (t1 - t0), 1),
                "music_playing_before": before_track is not None,
                "music_playing_after": after["track"] is not None and not after["paused"],
                "page_answers_after": page_ok,
                "daemon_alive": proc.poll() is None,
            }
            if out["samples_per_min_before"]:
                out["samples_ratio"] = round(
                    out["samples_per_min_during"] / out["samples_per_min_before"], 2
                )
        finally:
            stop.set()
            proc.send_signal(signal.SIGTERM)
            try:
                out_rc = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out_rc = -9
            log.close()
            notify.close()
        out["exit_code"] = out_rc
        print(json.dumps(out, indent=1))
        ok = out["rss_mb_max_during"] < 150 and out["music_playing_after"] and out["daemon_alive"]
        return 0 if ok and out["page_answers_after"] else 1


if __name__ == "__main__":
    sys.exit(main())
