"""``kiosk check [--json] [--skip NAME,...]``: a self-test for the person installing the kiosk.

Each check says what it found and, when it fails, how to fix it. Exit 1 when a required
check fails, 2 when the config itself is bad, else 0 (warnings do not fail).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from kiosk.check.result import CHECK_NAMES, Check
from kiosk.commands.import_cmd import add_installed_config_arg, installed_default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="installer self-test: camera, models, audio, music, broker, disk, clock",
        description="Tries every part the kiosk needs, on this machine, with this config. "
        "Exit 0 all required checks pass, 1 one failed, 2 the config is invalid.",
    )
    p.add_argument("--json", action="store_true", help='print {"ok", "checks": [...]}')
    p.add_argument(
        "--skip", default="", metavar="NAMES", help=f"comma list from {','.join(CHECK_NAMES)}"
    )
    add_installed_config_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.check.runner import config_failure, run_checks
    from kiosk.config import ConfigError, load_config

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(CHECK_NAMES)
    if unknown:
        print(f"kiosk check: unknown check(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    installed_default(args)
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        checks = [config_failure(args.config, exc)]
        _print(checks, args.json)
        return 2
    source = str(loaded.path) if loaded.path else "built-in defaults"
    checks = [Check("config", True, True, f"valid: {source}")]
    checks += run_checks(loaded, skip)
    _print(checks, args.json)
    return 0 if all(c.ok or not c.required for c in checks) else 1


def _print(checks: list[Check], as_json: bool) -> None:
    ok = all(c.ok or not c.required for c in checks)
    if as_json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}))
        return
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        print(f"{mark}  {c.name:<7} {c.detail}")
        if not c.ok and c.fix:
            print(f"      fix: {c.fix}")
    print("all required checks passed" if ok else "some required checks FAILED")
