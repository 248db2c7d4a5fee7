"""``kiosk report``: how the shop felt, what played, whether the music helped."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.commands._common import add_config_arg

CSV_COLUMNS = (
    "start", "end", "duration_s", "title", "artist", "path", "playlist", "skipped", "failed",
)  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="report of a day from the local history (mood, music, effect)",
        description=(
            "Summarises the local history (history.enabled) for one day (default: today, "
            "local time) or a span. --json prints the summary object; --out writes a "
            "self-contained HTML page (.html) or the main figure (.png); --csv writes the "
            "play log for a music-licence return. Exit 1 when there is no history."
        ),
    )
    add_config_arg(p)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--date", metavar="YYYY-MM-DD", help="the day (local time)")
    when.add_argument("--from", dest="start", metavar="A", help="start (ISO time or date)")
    p.add_argument("--to", dest="end", metavar="B", help="end (ISO time; a date includes it)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--out", metavar="FILE", help="write report.html or report.png")
    p.add_argument("--csv", metavar="FILE", help="write the play log as CSV")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.commands._common import load_or_exit
    from kiosk.history import store
    from kiosk.history.recorder import history_path
    from kiosk.history.summary import RangeError, day_range, span_range, summarize
    from kiosk.paths import state_dir

    if (args.start is None) != (args.end is None):
        print("kiosk report: --from and --to go together", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".html", ".htm", ".png"):
        print("kiosk report: --out must end in .html or .png", file=sys.stderr)
        return 2
    loaded = load_or_exit(args)
    hcfg = loaded.config.history
    try:
        start, end = span_range(args.start, args.end) if args.start else day_range(args.date)
    except RangeError as exc:
        print(f"kiosk report: {exc}", file=sys.stderr)
        return 2
    path = history_path(hcfg, state_dir(loaded), loaded.resolve)
    if not path.is_file():
        print(f"kiosk report: no history at {path} (is history.enabled on?)", file=sys.stderr)
        return 1
    n = hcfg.effect_minutes
    try:
        data = store.read_range(path, start, end, margin_s=n * 60.0 + 60.0)
        summary = summarize(data, start, end, n)  # rows of the wrong type (edited by hand)
    except Exception as exc:  # sqlite3.DatabaseError and friends: say what, exit 1
        print(f"kiosk report: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    try:
        if args.csv:
            write_csv(Path(args.csv), summary["plays"], data["plays"])
        if out is not None:
            write_out(out, summary, data, start, end)
    except OSError as exc:
        print(f"kiosk report: cannot write: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_text(summary)
    return 0


def write_out(out: Path, summary: dict[str, Any], data: dict[str, Any], a: float, b: float) -> None:
    from kiosk.history import charts

    if out.suffix.lower() == ".png":
        out.write_bytes(charts.png(charts.main_figure(data, a, b), dpi=120))
    else:
        from kiosk.history.page import render

        out.write_text(render(summary, data, a, b), encoding="utf-8")


def _cell(text: str | None) -> str:
    """Tags come from files on a USB stick: a title like ``=HYPERLINK(...)`` must stay text
    when the licence return is opened in a spreadsheet."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(path: Path, plays: list[dict[str, Any]], raw: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for p, r in zip(plays, raw, strict=True):
            duration = round(r["end"] - r["start"], 1) if r["end"] is not None else ""
            w.writerow(
                [p["start"], p["end"] or "", duration, _cell(p["title"]), _cell(p["artist"]),
                 _cell(p["path"]), _cell(p["playlist"]), int(p["skipped"]), int(p["failed"])]
            )  # fmt: skip


def print_text(s: dict[str, Any]) -> None:
    print(f"{s['from']} to {s['to']}")
    print(f"  samples: {s['samples']}, audience: {s['audience_minutes']:.1f} min, "
          f"faces mean {s['faces']['mean']:.2f} max {s['faces']['max']}")  # fmt: skip
    moods = ", ".join(f"{k} {v:.1f}" for k, v in s["mood_minutes"].items() if v)
    print(f"  mood minutes: {moods or 'none'}")
    print(f"  switches: {len(s['switches'])}, plays: {s['plays_count']}")
    if not s["samples"] and not s["switches"] and not s["plays_count"]:
        print("  nothing recorded in this span (was the kiosk running? is history.enabled on?)")
    for e in s["effect"]:
        print(f"  effect {e['playlist']}: {e['mean_change']:+.3f} valence over {e['count']} "
              f"switch(es), 95% {e['ci95']}")  # fmt: skip
    by_order = s.get("effect_by_order") or {}
    for o in by_order.get("orders", []):
        change = "n/a" if o["mean_change"] is None else f"{o['mean_change']:+.3f}"
        print(f"  effect order {o['order']}: {change} valence over {o['count']} track(s), "
              f"95% {o['ci95']}")  # fmt: skip
    print("  (observational: see --json 'note')")
