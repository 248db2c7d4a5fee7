"""``kiosk run [--config PATH] [--simulate]``: the daemon, or a simulation for tuning."""

from __future__ import annotations

import argparse
import sys

from kiosk.commands._common import add_config_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run the kiosk: camera -> faces -> mood -> music",
        description=(
            "Runs the kiosk daemon. Without --config it runs the embedded demo: demo camera "
            "frames and generated demo music in the state directory. SIGTERM/SIGINT fade out "
            "and stop; SIGHUP reloads the config and rescans the music library."
        ),
    )
    add_config_arg(p)
    p.add_argument(
        "--simulate",
        action="store_true",
        help="simulated clock, no sleeping; play the camera source once and print mood and "
        "switch events as JSON lines on stdout (null player unless --player is given)",
    )
    p.add_argument(
        "--player", default=None, metavar="BACKEND", help="player backend instead of the config's"
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds (simulated seconds with --simulate)",
    )
    p.add_argument(
        "--start",
        default=None,
        metavar="TIME",
        help="with --simulate: the simulated clock starts at this local time "
        "(e.g. 2026-11-20T09:00) and the history records the replayed day at that date "
        "(without --start a simulation writes no history)",
    )
    p.add_argument(
        "--log-format", choices=("text", "json"), default=None, help="override service.log_format"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.commands._common import load_or_exit
    from kiosk.iso_time import parse_iso
    from kiosk.service.app import Daemon
    from kiosk.service.clock import SimClock
    from kiosk.service.logs import setup_logging

    loaded = load_or_exit(args)
    svc = loaded.config.service
    level = "debug" if getattr(args, "verbose", 0) >= 1 else svc.log_level
    setup_logging(level, args.log_format or svc.log_format)
    if args.duration is not None and args.duration <= 0:
        print("kiosk run: --duration must be > 0", file=sys.stderr)
        return 2
    clock = None
    if args.start is not None:
        if not args.simulate:
            print("kiosk run: --start needs --simulate", file=sys.stderr)
            return 2
        try:
            start = parse_iso(args.start)
        except ValueError:
            print(f"kiosk run: --start {args.start!r} is not an ISO time", file=sys.stderr)
            return 2
        clock = SimClock(start_wall=start.astimezone().timestamp())
    daemon = Daemon(
        loaded,
        simulate=args.simulate,
        player_backend=args.player,
        duration_s=args.duration,
        clock=clock,
    )
    return daemon.run()
