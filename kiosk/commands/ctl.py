"""``kiosk ctl``: drive one kiosk, a group or the whole fleet over MQTT.

kiosk ctl list
kiosk ctl shop-12 volume '{"level": 40}'
kiosk ctl group:north pause
kiosk ctl all status --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# Retained state arrives right after the subscription is acknowledged; this much quiet
# after the last retained message means we have them all.
RETAINED_SETTLE_S = 0.4


def register(sub: argparse._SubParsersAction) -> None:
    from kiosk.core.commands import help_text

    p = sub.add_parser(
        "ctl",
        help="send a command to kiosks over MQTT, or list them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "TARGET is a kiosk id, group:<name> or all; `kiosk ctl list` shows the kiosks "
            "known to the broker.\nCOMMAND and its PAYLOAD fields (each kiosk validates "
            "them; a typo is answered here in the same words):\n" + help_text()
        ),
    )
    p.add_argument("target", help="kiosk id, group:<name>, all, or the word list")
    p.add_argument("command", nargs="?", help="command name")
    p.add_argument("payload", nargs="?", help="JSON arguments, e.g. '{\"level\": 40}'")
    p.add_argument("--config", "-c", default=None, help="config.yaml (its mqtt section)")
    p.add_argument("--host", help="broker host (overrides the config)")
    p.add_argument("--port", type=int, help="broker port")
    p.add_argument("--username", help="broker user name")
    p.add_argument("--password-file", help="file holding the broker password")
    p.add_argument("--password-env", help="environment variable holding the broker password")
    p.add_argument("--prefix", help="topic prefix (default from config: kiosk)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for answers")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)


def _mqtt_config(args: argparse.Namespace):
    from pydantic import ValidationError

    from kiosk.commands._common import load_or_exit
    from kiosk.comms.config import MqttConfig

    loaded = load_or_exit(args)
    data = loaded.config.mqtt.model_dump()
    overrides = {
        "host": args.host,
        "port": args.port,
        "username": args.username,
        # A path typed on the command line is relative to the shell's directory.
        "password_file": os.path.abspath(os.path.expanduser(args.password_file))
        if args.password_file
        else None,
        "password_env": args.password_env,
        "topic_prefix": args.prefix,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    if "password_file" in given or "password_env" in given:
        data.update(password=None, password_file=None, password_env=None)
    data.update(given)
    try:
        return MqttConfig.model_validate(data), loaded
    except ValidationError as exc:
        from kiosk.errors import describe_errors

        for line in describe_errors(exc, top="mqtt"):
            print(f"kiosk ctl: {line}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _validate_command(name: str, payload: str | None) -> dict[str, Any]:
    """The kiosk's own validation (same models, same words), so a typo never leaves here."""
    from kiosk.core.dispatch import validate

    return validate(name, payload)[0]


class _Session:
    """Connected client that tracks retained kiosk state and command results."""

    def __init__(self, cfg, loaded) -> None:
        from kiosk.comms.client import new_client

        self.cfg = cfg
        self.prefix = cfg.topic_prefix
        self.kiosks: dict[str, dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.last_msg = time.monotonic()
        self.subscribed = threading.Event()
        self.connected = threading.Event()
        self.refused: str | None = None
        self.lock = threading.Lock()
        self.client = new_client(cfg, f"kiosk-ctl-{uuid.uuid4().hex[:10]}", loaded.resolve)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            self.connected.set()
            return
        p = self.prefix
        client.subscribe(
            [(f"{p}/+/state", 1), (f"{p}/+/availability", 1), (f"{p}/+/cmd/result", 1)]
        )
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        rest = msg.topic[len(self.prefix) + 1 :].split("/")
        with self.lock:
            self.last_msg = time.monotonic()
            kid = rest[0]
            if rest[1:] == ["availability"]:
                self.kiosks.setdefault(kid, {})["online"] = msg.payload == b"online"
            elif rest[1:] == ["state"]:
                with contextlib.suppress(ValueError):
                    self.kiosks.setdefault(kid, {})["state"] = json.loads(msg.payload)
            elif rest[1:] == ["cmd", "result"]:
                try:
                    result = json.loads(msg.payload)
                except ValueError:
                    return
                if isinstance(result, dict):
                    result.setdefault("kiosk_id", kid)
                    self.results.append(result)

    def open(self, timeout: float, settle: bool = True) -> str | None:
        try:
            self.client.connect(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        except OSError as exc:
            return f"cannot reach broker {self.cfg.host}:{self.cfg.port}: {exc}"
        self.client.loop_start()
        if not self.connected.wait(timeout) or self.refused:
            return f"broker {self.cfg.host}:{self.cfg.port} refused: {self.refused or 'timeout'}"
        self.subscribed.wait(timeout)
        deadline = time.monotonic() + timeout
        while settle and time.monotonic() < deadline:
            with self.lock:
                quiet = time.monotonic() - self.last_msg
            if quiet >= RETAINED_SETTLE_S:
                break
            time.sleep(0.05)
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _matches(target: str, kid: str, info: dict[str, Any]) -> bool:
    if target == "all":
        return True
    if target.startswith("group:"):
        return target[6:] in (info.get("state") or {}).get("groups", [])
    return kid == target


def _run(args: argparse.Namespace) -> int:
    from kiosk.comms.config import PasswordError
    from kiosk.comms.topics import target_root

    listing = args.target == "list" and args.command is None
    if not listing and not args.command:
        print("kiosk ctl: give a COMMAND (or use `kiosk ctl list`)", file=sys.stderr)
        return EXIT_USAGE
    if not listing:
        try:
            data = _validate_command(args.command, args.payload)
        except ValueError as exc:
            print(f"kiosk ctl: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if args.target.startswith("group:") and not args.target[6:]:
            print("kiosk ctl: group: needs a name", file=sys.stderr)
            return EXIT_USAGE
    cfg, loaded = _mqtt_config(args)
    try:
        session = _Session(cfg, loaded)
    except (PasswordError, OSError, ValueError) as exc:
        print(f"kiosk ctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Only a fan-out needs the fleet's retained state (to know whom to wait for).
    fan_out = listing or args.target == "all" or args.target.startswith("group:")
    error = session.open(args.timeout, settle=fan_out)
    if error:
        print(f"kiosk ctl: {error}", file=sys.stderr)
        session.client.loop_stop()
        return EXIT_FAIL
    try:
        if listing:
            return _list(session, args)
        return _send(session, args, data, target_root(cfg.topic_prefix, args.target))
    finally:
        session.close()


def _list(session: _Session, args: argparse.Namespace) -> int:
    with session.lock:
        kiosks = {k: dict(v) for k, v in sorted(session.kiosks.items())}
    rows = []
    for kid, info in kiosks.items():
        st = info.get("state") or {}
        track = st.get("track") or {}
        rows.append(
            {
                "kiosk_id": kid,
                "online": bool(info.get("online")),
                "groups": st.get("groups", []),
                "mood": st.get("mood"),
                "playlist": st.get("playlist"),
                "track": track.get("title") or track.get("path"),
                "volume": st.get("volume"),
                "paused": st.get("paused"),
                "override": st.get("override"),
                "version": st.get("version"),
            }
        )
    if args.json:
        print(json.dumps(rows))
        return EXIT_OK
    if not rows:
        print("no kiosks known to this broker")
        return EXIT_OK
    print(f"{'KIOSK':<20} {'STATUS':<8} {'MOOD':<9} {'VOL':>3}  {'PLAYLIST':<12} TRACK")
    for r in rows:
        status = "online" if r["online"] else "offline"
        if r["paused"]:
            status += "*"
        print(
            f"{r['kiosk_id']:<20} {status:<8} {(r['mood'] or '-'):<9} "
            f"{r['volume'] if r['volume'] is not None else '-':>3}  "
            f"{(r['playlist'] or '-'):<12} {r['track'] or '-'}"
        )
    return EXIT_OK


def _as_ctl(source: str = "ctl") -> Any:
    """MQTT v5 properties that label the command with ``source`` in the kiosk's history."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("source", source)
    return props


def request_running_kiosk(
    loaded: Any, name: str, data: dict[str, Any], source: str, timeout: float = 5.0
) -> dict[str, Any] | None:
    """Send one command to this config's own kiosk through the broker and return its
    result, so a CLI command that changes a running kiosk goes through its dispatcher.
    None when MQTT is off, the broker is unreachable or the kiosk is not online."""
    from kiosk.comms.config import PasswordError
    from kiosk.comms.topics import target_root

    cfg = loaded.config.mqtt
    if not cfg.enabled:
        return None
    try:
        session = _Session(cfg, loaded)
    except (PasswordError, OSError, ValueError):
        return None
    if session.open(timeout, settle=True):  # the retained availability says who is online
        session.client.loop_stop()
        return None
    try:
        kid = cfg.effective_kiosk_id()
        with session.lock:
            online = bool(session.kiosks.get(kid, {}).get("online"))
        if not online:
            return None
        request_id = uuid.uuid4().hex[:12]
        body = json.dumps({**data, "id": request_id})
        topic = f"{target_root(cfg.topic_prefix, kid)}/cmd/{name}"
        session.client.publish(topic, body, qos=1, properties=_as_ctl(source))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session.lock:
                for r in session.results:
                    if r.get("id") == request_id and r.get("kiosk_id") == kid:
                        return r
            time.sleep(0.05)
        return None
    finally:
        session.close()


def _send(session: _Session, args: argparse.Namespace, data: dict[str, Any], root: str) -> int:
    with session.lock:
        expected = {
            k for k, v in session.kiosks.items() if v.get("online") and _matches(args.target, k, v)
        }
    if not args.target.startswith("group:") and args.target != "all":
        expected = {args.target}
    request_id = data.get("id") or uuid.uuid4().hex[:12]
    body = json.dumps({**data, "id": request_id})
    session.client.publish(f"{root}/cmd/{args.command}", body, qos=1, properties=_as_ctl())
    deadline = time.monotonic() + args.timeout
    answers: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        with session.lock:
            for r in session.results:
                if r.get("id") == request_id:
                    answers.setdefault(str(r.get("kiosk_id")), r)
        if expected and expected <= set(answers):
            break
        time.sleep(0.05)
    missing = sorted(expected - set(answers))
    if args.json:
        print(json.dumps({"results": list(answers.values()), "missing": missing}))
    else:
        for kid, r in sorted(answers.items()):
            if r.get("ok"):
                key = next((k for k in ("status", "blocks", "blocked") if k in r), None)
                extra = f"  {json.dumps(r[key])}" if key else ""
                print(f"{kid}: ok{extra}")
            else:
                print(f"{kid}: FAILED: {r.get('error')}")
        for kid in missing:
            print(f"{kid}: no answer within {args.timeout:g}s")
        if not answers and not expected:
            print(f"no kiosk answered within {args.timeout:g}s (none known online)")
    ok = bool(answers) and not missing and all(r.get("ok") for r in answers.values())
    return EXIT_OK if ok else EXIT_FAIL
