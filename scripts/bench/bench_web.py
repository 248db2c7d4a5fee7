#!/usr/bin/env python3
"""What the staff page costs the daemon: CPU and RSS of ``kiosk run`` with it off and on.

Three runs of the real daemon in one go, on the same frames and music (scripts/bench/bench_run.py
sets them up): ``off`` (web.enabled false: the baseline), ``on`` (the page served, nobody
looking) and ``on+client`` (one logged-in page with its live event stream open, as a phone
on the counter would keep it). Prints one JSON object with the ratios against ``off``.

    python scripts/bench/bench_web.py --minutes 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import cpu_seconds, rss_mb, write_config

PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def watch_page(port: int, stop: threading.Event, counts: dict) -> None:
    """Log in and keep the live stream open, counting the updates it gets."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/login", json.dumps({"password": PASSWORD}),
              {"Content-Type": "application/json"})  # fmt: skip
    r = c.getresponse()
    r.read()
    cookie = r.getheader("set-cookie").split(";")[0]
    c.request("GET", "/api/events", headers={"Cookie": cookie})
    r = c.getresponse()
    while not stop.is_set():
        line = r.fp.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            counts["updates"] = counts.get("updates", 0) + 1
    c.close()


def measure(tmp: Path, cfg: Path, mode: str, args: argparse.Namespace) -> dict:
    port = free_port()
    text = cfg.read_text()
    if mode != "off":
        (tmp / "pw").write_text(f"operator:{PASSWORD}\n")
        text += (
            f"web:\n  enabled: true\n  host: 127.0.0.1\n  port: {port}\n"
            f"  password_file: {tmp / 'pw'}\n"
        )
    run_cfg = tmp / f"config-{mode}.yaml"
    run_cfg.write_text(text)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "XDG_STATE_HOME": str(tmp / mode)}
    log = open(tmp / f"{mode}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(run_cfg)],
        stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=tmp,
    )  # fmt: skip
    stop, counts = threading.Event(), {}
    try:
        time.sleep(args.warmup)
        if proc.poll() is not None:
            raise SystemExit(f"kiosk run died:\n{(tmp / f'{mode}.log').read_text()[-3000:]}")
        if mode == "on+client":
            threading.Thread(target=watch_page, args=(port, stop, counts), daemon=True).start()
            time.sleep(2)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        rss = []
        while time.monotonic() < t0 + args.minutes * 60:
            rss.append(rss_mb(proc.pid))
            time.sleep(1.0)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
    finally:
        stop.set()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9
        log.close()
    return {
        "cpu_percent_one_core": round(100 * (c1 - c0) / (t1 - t0), 3),
        "rss_mb_mean": round(statistics.mean(rss), 1),
        "rss_mb_max": round(max(rss), 1),
        "page_updates": counts.get("updates"),
        "exit_code": rc,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=2.0, help="measured minutes per run")
    p.add_argument("--warmup", type=float, default=15.0)
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--player", default="vlc")
    p.add_argument("--camera", choices=("demo", "folder"), default="folder")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-web-") as tmp_s:
        tmp = Path(tmp_s)
        cfg = write_config(tmp, args.interval, args.player, args.camera)
        runs = {m: measure(tmp, cfg, m, args) for m in ("off", "on", "on+client")}
    base = runs["off"]
    out = {"player": args.player, "camera": args.camera, "interval_s": args.interval,
           "minutes": args.minutes, "runs": runs}  # fmt: skip
    for m in ("on", "on+client"):
        out[f"cpu_{m}_vs_off"] = round(
            runs[m]["cpu_percent_one_core"] / max(base["cpu_percent_one_core"], 1e-9), 2
        )
        out[f"rss_{m}_minus_off_mb"] = round(runs[m]["rss_mb_max"] - base["rss_mb_max"], 1)
    out["ok"] = all(r["rss_mb_max"] <= 150 and r["exit_code"] == 0 for r in runs.values())
    print(json.dumps(out, indent=2))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
