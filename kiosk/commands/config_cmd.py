"""``kiosk config validate|show``."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="validate or show the configuration")
    csub = p.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    v = csub.add_parser("validate", help="check a config file; exit 2 when it is invalid")
    v.add_argument("path", nargs="?", default=None, help="config.yaml (default: built-in)")
    v.add_argument("--json", action="store_true", help="machine-readable result")
    v.set_defaults(func=_validate)
    s = csub.add_parser("show", help="print the effective config with defaults filled in")
    s.add_argument("path", nargs="?", default=None, help="config.yaml (default: built-in)")
    s.set_defaults(func=_show)
    e = csub.add_parser("example", help="print the documented example config.yaml")
    e.set_defaults(func=_example)


def _validate(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config

    try:
        load_config(args.path)
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "path": exc.source, "errors": exc.problems}))
        else:
            print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ok": True, "path": args.path}))
    else:
        print(f"{args.path or '(built-in defaults)'}: OK")
    return 0


def _show(args: argparse.Namespace) -> int:
    import yaml

    from kiosk.config import ConfigError, load_config

    try:
        loaded = load_config(args.path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(yaml.safe_dump(loaded.config.model_dump(mode="json"), sort_keys=False), end="")
    print(opening_hours_text(loaded.config.policy.schedule), end="")
    return 0


def opening_hours_text(schedule, first=None) -> str:
    """The next 14 days' opening hours as YAML comments, so a mistake is visible."""
    from datetime import date

    from kiosk.mood.schedule import opening_days

    first = first or date.today()
    if not schedule.enabled:
        return "# opening hours: policy.schedule.enabled is false, so always open\n"
    lines = ["# opening hours, next 14 days (local time):"]
    for day, hours in opening_days(schedule, first, 14):
        why = "" if hours.reason == "weekly" else f"  ({hours.reason})"
        lines.append(f"#   {day:%a %Y-%m-%d}  {hours.text():<12}{why}".rstrip())
    return "\n".join(lines) + "\n"


def _example(args: argparse.Namespace) -> int:
    from kiosk.config_doc import render_example

    print(render_example(), end="")
    return 0
