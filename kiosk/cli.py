"""The ``kiosk`` command line.

Exit codes: 0 ok, 1 the work failed (e.g. a check or an image failed), 2 bad usage or bad
config, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from kiosk import __version__

# Order is the order shown in --help.
COMMAND_MODULES = (
    "run",
    "analyze",
    "eval",
    "bench",
    "config_cmd",
    "ctl",
    "import_cmd",
    "music_cmd",
    "web_cmd",
    "check",
    "report",
)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description="Mood kiosk: reads the crowd's mood from a camera and plays matching music.",
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeatable)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"kiosk.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"kiosk.commands.{name}":
                continue  # command not built in this checkout
            raise
        module.register(sub)
    return parser


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
