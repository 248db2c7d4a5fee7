"""``kiosk music analyze PATH... [--json]``: loudness, tempo and mood of audio files."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from kiosk.commands._common import add_config_arg, load_or_exit

log = logging.getLogger("kiosk.music")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "music",
        help="analyse music files (loudness, tempo, valence/arousal mood)",
        description="Music library tools.",
    )
    msub = p.add_subparsers(dest="music_command", metavar="SUBCOMMAND")
    a = msub.add_parser(
        "analyze",
        help="integrated loudness, peak, tempo, valence/arousal and quadrant per file",
        description="Analyses files and folders (walked for audio files). Loudness "
        "(EBU R128, LUFS) and sample peak cover the whole file; tempo and mood come from a "
        "30 s excerpt in the middle. Results are cached in the state directory by content. "
        "Exit 0 all analysed, 1 some file failed (the others still run), 2 bad usage.",
    )
    a.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="audio files or folders")
    a.add_argument("--json", action="store_true", help="one JSON object per file per line")
    a.add_argument("--no-cache", action="store_true", help="analyse again, touch no cache")
    a.add_argument("--model", type=Path, default=None, help="mood model JSON (default: shipped)")
    add_config_arg(a)
    a.set_defaults(func=run_analyze)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _line(r: dict) -> str:
    if "error" in r:
        return f"{r['path']}: ERROR {r['error']}"

    def f(v, fmt):
        return "-" if v is None else format(v, fmt)

    return (
        f"{r['path']}: {f(r['duration_s'], '.1f')} s  {f(r['lufs'], '.1f')} LUFS  "
        f"peak {f(r['peak_db'], '.1f')} dB  {f(r['tempo_bpm'], '.0f')} BPM  "
        f"V {f(r['valence'], '+.2f')} A {f(r['arousal'], '+.2f')}  "
        f"{r['quadrant'] or '-'} ({f(r['confidence'], '.2f')})"
    )


def run_analyze(args: argparse.Namespace) -> int:
    from kiosk.music.analysis.mood_model import DEFAULT_MODEL, ModelError
    from kiosk.music.analysis.service import Analyzer, expand

    cache_dir = None
    if not args.no_cache:
        from kiosk.service.daemon import state_dir

        cache_dir = state_dir(load_or_exit(args))
    try:
        analyzer = Analyzer(cache_dir, args.model or DEFAULT_MODEL)
    except ModelError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"kiosk: cannot open the analysis cache in {cache_dir}: {exc}", file=sys.stderr)
        return 2
    failed = 0
    try:
        for path in expand(args.paths):
            r = analyzer.analyse_path(path)
            failed += "error" in r
            out = json.dumps(r, ensure_ascii=False) if args.json else _line(r)
            print(out.encode("utf-8", "replace").decode("utf-8"), flush=True)
    finally:
        analyzer.close()
    log.info("analysed; %d cache hits, %d failed", analyzer.hits, failed)
    return 1 if failed else 0
