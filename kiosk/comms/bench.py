"""MQTT benchmark: ``python -m kiosk.comms.bench [--messages N] [--json]``.

Starts a private mosquitto on a free loopback port (needs the ``mosquitto`` binary) and
measures, in one run:

- start → first message: ``MqttFrontend.start()`` until a subscriber sees ``online`` and the
  retained state; and, with ``--kiosk-run``, ``kiosk run --player null`` process start until
  the first message.
- outbox: put rate into SQLite, and drain rate after a broker outage (N queued messages
  delivered QoS 1 in order), as a ratio to a plain paho QoS 1 publisher (baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.core.api import Status
from kiosk.core.events import EventBus


class _StaticApi:
    def __init__(self) -> None:
        self.events = EventBus()

    def status(self) -> Status:
        return Status(volume=50, playlist="happy")

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Broker:
    def __init__(self, workdir: Path) -> None:
        import pwd

        self.port = _free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
        )
        self.exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


def _client(port: int, on_message=None) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    c = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-{time.monotonic_ns()}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    if on_message:
        c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _subscriber(port: int, topic: str) -> tuple[Any, list[float], threading.Event]:
    got: list[float] = []
    subscribed = threading.Event()

    def on_message(c, u, m) -> None:
        got.append(time.perf_counter())

    c = _client(port, on_message)
    c.on_subscribe = lambda *a: subscribed.set()
    c.subscribe(topic, qos=1)
    subscribed.wait(5)
    return c, got, subscribed


def _loaded(tmp: Path, port: int) -> Any:
    from kiosk.config import KioskConfig, LoadedConfig

    cfg = KioskConfig(
        mqtt={
            "enabled": True,
            "host": "127.0.0.1",
            "port": port,
            "kiosk_id": "bench",
            "outbox_path": str(tmp / "outbox.sqlite"),
            "outbox_max_messages": 1_000_000,
            "stats_interval_s": 3600,
            "reconnect_min_s": 1,
            "reconnect_max_s": 1,
        }
    )
    return LoadedConfig(cfg, tmp, None)


def _wait(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.002)
    return True


def bench_first_message(tmp: Path, broker: _Broker) -> float:
    from kiosk.comms.mqtt import MqttFrontend

    sub, got, _ = _subscriber(broker.port, "kiosk/bench/state")
    got.clear()  # a retained state from an earlier round
    fe = MqttFrontend(_StaticApi(), _loaded(tmp, broker.port))
    t0 = time.perf_counter()
    fe.start()
    ok = _wait(lambda: got, 10)
    fe.stop()
    sub.disconnect()
    sub.loop_stop()
    return (got[0] - t0) if ok else float("nan")


def bench_kiosk_run(tmp: Path, broker: _Broker) -> float | None:
    try:
        import kiosk.player.player  # noqa: F401
    except ImportError:
        return None
    from kiosk.config import load_config

    defaults = load_config(None)  # absolute model paths: the config lives in a temp dir
    vision = defaults.config.vision
    cfg = tmp / "run.yaml"
    cfg.write_text(
        "mqtt:\n  enabled: true\n  host: 127.0.0.1\n"
        f"  port: {broker.port}\n  kiosk_id: benchrun\n"
        f"  outbox_path: {tmp / 'run-outbox.sqlite'}\n"
        f"vision:\n  detector:\n    model: {defaults.resolve(vision.detector.model)}\n"
        f"  classifier:\n    model: {defaults.resolve(vision.classifier.model)}\n"
    )
    sub, got, _ = _subscriber(broker.port, "kiosk/benchrun/availability")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "-c", str(cfg), "--player", "null"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ok = _wait(lambda: got, 20)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    sub.disconnect()
    sub.loop_stop()
    return (got[0] - t0) if ok else float("nan")


def bench_baseline(broker: _Broker, n: int) -> float:
    """Plain paho: n QoS 1 publishes, time until the subscriber has them all."""
    sub, got, _ = _subscriber(broker.port, "base/#")
    pub = _client(broker.port)
    payload = json.dumps({"ts": time.time(), "samples": 20, "faces": 31}).encode()
    t0 = time.perf_counter()
    for _ in range(n):
        pub.publish("base/x", payload, qos=1)
    _wait(lambda: len(got) >= n, 60)
    dt = got[-1] - t0
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return n / dt


def bench_outbox(tmp: Path, n: int) -> dict[str, float]:
    from kiosk.comms.mqtt import MqttFrontend

    (tmp / "ob").mkdir()
    broker = _Broker(tmp / "ob")  # not started yet: the kiosk is offline
    fe = MqttFrontend(_StaticApi(), _loaded(tmp / "ob", broker.port))
    fe.start()
    t0 = time.perf_counter()
    for _ in range(n):
        fe.publish_stats()
    _wait(lambda: len(fe.outbox) >= n, 60)  # the drainer thread stores them in SQLite
    put_rate = n / (time.perf_counter() - t0)
    broker.start()
    try:
        sub, got, _ = _subscriber(broker.port, "kiosk/bench/stats")
        t1 = time.perf_counter()
        _wait(lambda: fe.ready, 10)
        t_conn = time.perf_counter()
        _wait(lambda: len(got) >= n, 120)
        drain_rate = len(got) / (got[-1] - t_conn) if got else 0.0
        _wait(lambda: len(fe.outbox) == 0, 10)
        sub.disconnect()
        sub.loop_stop()
        fe.stop()
        return {
            "put_per_s": put_rate,
            "drain_per_s": drain_rate,
            "reconnect_s": t_conn - t1,
            "delivered": len(got),
        }
    finally:
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk.comms.bench", description=__doc__)
    ap.add_argument("--messages", type=int, default=5000, help="outbox messages to drain")
    ap.add_argument("--rounds", type=int, default=5, help="start → first message rounds")
    ap.add_argument("--kiosk-run", action="store_true", help="also time `kiosk run` start")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        print("mosquitto is not installed (apt install mosquitto)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        broker = _Broker(tmp)
        broker.start()
        try:
            firsts = sorted(bench_first_message(tmp, broker) for _ in range(args.rounds))
            run_first = bench_kiosk_run(tmp, broker) if args.kiosk_run else None
            baseline = bench_baseline(broker, args.messages)
        finally:
            broker.stop()
        ob = bench_outbox(tmp, args.messages)
    res = {
        "first_message_s": {"median": firsts[len(firsts) // 2], "max": firsts[-1]},
        "kiosk_run_first_message_s": run_first,
        "baseline_paho_qos1_per_s": round(baseline),
        "outbox_put_per_s": round(ob["put_per_s"]),
        "outbox_drain_per_s": round(ob["drain_per_s"]),
        "drain_vs_baseline": round(ob["drain_per_s"] / baseline, 3),
        "delivered": ob["delivered"],
        "messages": args.messages,
    }
    if args.json:
        print(json.dumps(res))
    else:
        f = res["first_message_s"]
        print(
            f"start → first message     median {f['median'] * 1000:.0f} ms, "
            f"max {f['max'] * 1000:.0f} ms"
        )
        if run_first is not None:
            print(f"kiosk run → first message {run_first:.2f} s")
        print(f"plain paho QoS 1 (base)   {res['baseline_paho_qos1_per_s']} msg/s")
        print(f"outbox put (SQLite)       {res['outbox_put_per_s']} msg/s")
        print(
            f"outbox drain after outage {res['outbox_drain_per_s']} msg/s "
            f"= {res['drain_vs_baseline']:.2f}x baseline "
            f"({res['delivered']}/{args.messages} delivered)"
        )
    return 0 if ob["delivered"] >= args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
