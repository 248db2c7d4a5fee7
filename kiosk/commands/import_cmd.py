"""``kiosk import PATH [--mode replace|merge] [--strict] [--rollback] [--json]``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

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
        "nothing. Exit 0 imported, 1 failed (library unchanged), 2 bad usage or config, "
        "143/130 stopped by SIGTERM/SIGINT (library unchanged).",
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


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    """A refusal before any import started: JSON for --json, else one line on stderr."""
    if getattr(args, "json", False):
        action = "rollback" if args.rollback else "import"
        print(json.dumps({"ok": False, "action": action, "error": message, "exit": code}))
    print(f"kiosk import: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config
    from kiosk.usb_import.importer import (
        StopRequest,
        find_music_folder,
        resolve_paths,
        run_import,
        run_rollback,
    )
    from kiosk.usb_import.notify import MqttReporter, notify_daemon
    from kiosk.usb_import.progress import ProgressFile
    from kiosk.usb_import.version_store import LibraryError, LibraryStore

    # systemd stops the unit with SIGTERM when the stick is pulled; Ctrl-C sends SIGINT.
    # Both only set a flag: the import stops at its next safe point, reports "failed" and
    # exits 128+signal (143, 130) with the old library live.
    stop = StopRequest()
    stop.install()
    if not args.rollback and not args.path:
        return _fail(args, "PATH is required (or --rollback)", 2)
    if args.rollback and args.path:
        return _fail(args, "--rollback takes no PATH", 2)
    if logging.getLogger().level > logging.INFO:
        # The journal is the import's only report when udev started it: log progress.
        logging.getLogger("kiosk").setLevel(logging.INFO)
    installed_default(args)
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        return _fail(args, str(exc), 2)
    if loaded.path is None:
        # The built-in config points into the package (or the current folder): a library
        # there is one nobody plays, so nothing is created without a real config.
        return _fail(
            args,
            f"no config: pass --config PATH naming the kiosk's music folder "
            f"({INSTALLED_CONFIG} on an installed kiosk)",
            2,
        )
    cfg = loaded.config.usb_import
    paths = resolve_paths(loaded)
    try:
        LibraryStore(paths.music_root, paths.library_dir)
    except LibraryError as exc:
        return _fail(args, str(exc), 2)

    if args.rollback:
        result = run_rollback(paths, cfg)
    else:
        given = Path(args.path)
        if not os.path.lexists(given):
            return _fail(args, f"{given}: path does not exist", 2)
        source = find_music_folder(given, cfg)
        if source is None:
            msg = f"no {cfg.stick_folder}/ folder in {args.path}"
            if args.if_present:
                log.info("%s: nothing to import", msg)
                return 0
            return _fail(args, msg, 1)
        reporter = MqttReporter(loaded)
        progress_file = ProgressFile(paths.library_dir)  # read by the staff page

        def report(event: dict) -> None:
            reporter(event)
            progress_file(event)

        try:
            report({"state": "running", "source": str(source)})
            result = run_import(source, paths, cfg, mode=args.mode, strict=args.strict or None,
                                progress=report, force=args.force, stop=stop)  # fmt: skip
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
        if result.skipped_count > len(result.skipped):
            print(f"  skipped {result.skipped_count - len(result.skipped)} more, not listed")
    if result.signal:
        return 128 + int(getattr(signal, result.signal))
    return 0 if result.ok else 1
