"""``kiosk import PATH [--mode replace|merge] [--strict] [--rollback] [--json]``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from kiosk.commands._common import load_or_exit

log = logging.getLogger("kiosk.import")

INSTALLED_CONFIG = "/etc/kiosk/config.yaml"


def add_installed_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        "-c",
        default=None,
        help=f"config.yaml (default: {INSTALLED_CONFIG} when it exists, else built-in)",
    )


def installed_default(args: argparse.Namespace) -> None:
    """On an installed kiosk, act on the service's library and settings by default.

    Without this, `kiosk import /media/stick` typed by hand would fill a library nobody
    plays (the built-in defaults point inside the package).
    """
    if args.config is None and os.path.isfile(INSTALLED_CONFIG):
        args.config = INSTALLED_CONFIG


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="install music from a USB stick (atomic; keeps the previous library)",
        description="Copies <PATH>/kiosk-music/<playlist>/<files> (or PATH itself when it is "
        "the kiosk-music folder) into a staging folder, checks every file, then switches the "
        "live library in one rename and asks the daemon to rescan. A bad stick changes "
        "nothing. Exit 0 imported, 1 failed (library unchanged), 2 bad usage or config.",
    )
    p.add_argument("path", nargs="?", metavar="PATH", help="stick mount point or kiosk-music")
    p.add_argument("--mode", choices=("replace", "merge"), default=None, help="default: config")
    p.add_argument("--strict", action="store_true", help="fail on any bad file")
    p.add_argument("--rollback", action="store_true", help="switch back to the previous library")
    p.add_argument(
        "--force", action="store_true", help="copy even if the stick made the live library"
    )
    p.add_argument(
        "--if-present",
        action="store_true",
        help="exit 0 quietly when PATH has no kiosk-music folder (used by the udev unit)",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_installed_config_arg(p)
    p.set_defaults(func=run)


def _terminate(signum, _frame):
    # systemd stops the import unit with SIGTERM when the stick is pulled: unwind so the
    # staging folder is removed now rather than on the next run.
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    from kiosk.music.import_notify import MqttReporter, notify_daemon
    from kiosk.music.import_progress import ProgressFile
    from kiosk.music.importer import find_music_folder, resolve_paths, run_import, run_rollback

    if not args.rollback and not args.path:
        print("kiosk import: PATH is required (or --rollback)", file=sys.stderr)
        return 2
    if args.rollback and args.path:
        print("kiosk import: --rollback takes no PATH", file=sys.stderr)
        return 2
    if logging.getLogger().level > logging.INFO:
        # The journal is the import's only report when udev started it: log progress.
        logging.getLogger("kiosk").setLevel(logging.INFO)
    installed_default(args)
    loaded = load_or_exit(args)
    cfg = loaded.config.usb_import
    paths = resolve_paths(loaded)
    signal.signal(signal.SIGTERM, _terminate)

    if args.rollback:
        result = run_rollback(paths, cfg)
    else:
        source = find_music_folder(Path(args.path), cfg)
        if source is None:
            msg = f"no {cfg.stick_folder}/ folder in {args.path}"
            if args.if_present:
                log.info("%s: nothing to import", msg)
                return 0
            print(f"kiosk import: {msg}", file=sys.stderr)
            return 1
        reporter = MqttReporter(loaded)
        progress_file = ProgressFile(paths.library_dir)  # read by the staff page

        def report(event: dict) -> None:
            reporter(event)
            progress_file(event)

        try:
            report({"state": "started", "source": str(source)})
            result = run_import(source, paths, cfg, mode=args.mode, strict=args.strict or None,
                                progress=report, force=args.force)  # fmt: skip
        finally:
            reporter.close()
    if result.ok and (args.rollback or result.files):
        result.notes.append(notify_daemon(cfg.notify_service))
        log.info("%s", result.summary())
    else:
        log.error("%s", result.summary())
    for note in result.notes:
        log.info("%s", note)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.summary())
        for s in result.skipped:
            print(f"  skipped {s.path}: {s.reason}")
    return 0 if result.ok else 1
