"""``kiosk music analyze|list|retag``: loudness, tempo and mood of tracks; self-sorting lists."""

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
    a.add_argument(
        "--cache-dir", type=Path, default=None, help="cache folder (default: the state directory)"
    )
    add_config_arg(a)
    a.set_defaults(func=run_analyze)

    ls = msub.add_parser(
        "list",
        help="every library track with its playlist(s), estimate and where that came from",
        description="Walks music.root. Tracks in a playlist folder play there (source "
        "'folder'); tracks in music/unsorted/ join the playlist(s) nearest their valence/"
        "arousal estimate ('estimate'); a staff correction wins over both ('correction'). "
        "Tracks not analysed yet are analysed first (cached). Exit 0, 1 when a track could "
        "not be analysed, 2 bad usage or config.",
    )
    ls.add_argument("--json", action="store_true", help="one JSON object per track per line")
    ls.add_argument("--no-analyze", action="store_true", help="show cached estimates only")
    add_config_arg(ls)
    ls.set_defaults(func=run_list)

    rt = msub.add_parser(
        "retag",
        help="staff correction: put a track in a playlist (wins over folder and estimate)",
        description="Persists in the state directory, keyed by the file's content (survives "
        "renames). PLAYLIST '' removes the correction. Exit 0 done, 1 unknown track or "
        "playlist, 2 bad usage or config.",
    )
    rt.add_argument("track", help="path of the track, relative to music.root or absolute")
    rt.add_argument("playlist", help="playlist name, or '' to remove the correction")
    rt.add_argument("--json", action="store_true", help="print the result as JSON")
    add_config_arg(rt)
    rt.set_defaults(func=run_retag)
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
    from kiosk.music_analysis.mood_model import DEFAULT_MODEL, ModelError
    from kiosk.music_analysis.service import Analyzer, expand

    cache_dir = None if args.no_cache else args.cache_dir
    if not args.no_cache and cache_dir is None:
        from kiosk.paths import state_dir

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


def _catalog(args: argparse.Namespace):
    from kiosk.library.catalog import Catalog
    from kiosk.library.config import music_root
    from kiosk.library.sorting import Corrections
    from kiosk.music_analysis.mood_model import ModelError
    from kiosk.music_analysis.service import Analyzer
    from kiosk.paths import state_dir

    loaded = load_or_exit(args)
    state = state_dir(loaded)
    try:
        analyzer = Analyzer(state)
    except (ModelError, OSError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    music = loaded.config.music
    return Catalog(
        music_root(loaded), analyzer, Corrections(state), music.sorting, music.extensions
    )


def run_list(args: argparse.Namespace) -> int:
    from kiosk.music_analysis.service import display_path

    cat = _catalog(args)
    failed = 0
    try:
        for a in cat.assignments(analyse=not args.no_analyze):
            est = a.estimate or {}
            failed += "error" in est
            row = {
                "path": display_path(a.path),
                "folder": a.folder,
                "playlists": a.playlists,
                "source": a.source,
                **{k: est.get(k) for k in ("valence", "arousal", "quadrant", "confidence")},
                **({"error": est["error"]} if "error" in est else {}),
            }
            if args.json:
                print(json.dumps(row, ensure_ascii=False), flush=True)
            else:
                mood = (
                    f"{row['quadrant']} V {row['valence']:+.2f} A {row['arousal']:+.2f}"
                    if row["valence"] is not None
                    else row.get("error", "no estimate")
                )
                lists = ",".join(a.playlists) or "-"
                print(f"{lists:24s} {a.source:10s} {mood:24s} {row['path']}", flush=True)
    finally:
        cat.analyzer.close()
    return 1 if failed else 0


def run_retag(args: argparse.Namespace) -> int:
    """Through the running kiosk's dispatcher when one answers (recorded as ``cli``), so its
    views change at once; otherwise straight into the shared corrections file."""
    from kiosk.comms.remote import request_running_kiosk
    from kiosk.core.dispatch import validate
    from kiosk.library.sorting import CorrectionError

    data = {"track": args.track, "playlist": args.playlist}
    try:
        validate("retag", data)  # the kiosk's own rule and words
    except ValueError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    answer = request_running_kiosk(load_or_exit(args), "retag", data, "cli")
    if answer is not None:
        if not answer.get("ok"):
            print(f"kiosk: {answer.get('error')}", file=sys.stderr)
            return 1
        result = answer["retag"]
        print(json.dumps(result, ensure_ascii=False) if args.json else f"{result}")
        return 0
    cat = _catalog(args)
    try:
        result = cat.retag(args.track, args.playlist)
    except CorrectionError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    finally:
        cat.analyzer.close()
    print(json.dumps(result, ensure_ascii=False) if args.json else f"{result}")
    return 0
