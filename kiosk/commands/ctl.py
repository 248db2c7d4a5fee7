"""``kiosk ctl``: drive one kiosk, a group or the whole fleet over MQTT.

kiosk ctl list
kiosk ctl shop-12 volume '{"level": 40}'
kiosk ctl group:north pause
kiosk ctl all status --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


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


def _matches(target: str, kid: str, info: dict[str, Any]) -> bool:
    if target == "all":
        return True
    if target.startswith("group:"):
        return target[6:] in (info.get("state") or {}).get("groups", [])
    return kid == target


def _run(args: argparse.Namespace) -> int:
    from kiosk.comms.config import PasswordError
    from kiosk.comms.remote import Session
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
        session = Session(cfg, loaded)
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


def _list(session: Any, args: argparse.Namespace) -> int:
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


def _send(session: Any, args: argparse.Namespace, data: dict[str, Any], root: str) -> int:
    with session.lock:
        expected = {
            k for k, v in session.kiosks.items() if v.get("online") and _matches(args.target, k, v)
        }
    if not args.target.startswith("group:") and args.target != "all":
        expected = {args.target}
    request_id = data.get("id") or uuid.uuid4().hex[:12]
    body = json.dumps({**data, "id": request_id})
    from kiosk.comms.remote import labelled

    session.client.publish(f"{root}/cmd/{args.command}", body, qos=1, properties=labelled("ctl"))
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
