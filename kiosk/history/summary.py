"""The JSON summary of a stretch of history (``kiosk report --json`` and MQTT ``report``).

Pure functions over rows read from the history file; no plotting here, so the daemon can
answer the MQTT command without loading matplotlib. Times come out as ISO strings in the
kiosk's local time zone.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from kiosk.history import effect, store
from kiosk.iso_time import parse_iso

NOTE = (
    "effect: change of the crowd's valence (share of happy and surprised faces minus share "
    "of angry, sad, fearful and disgusted ones) in the {n} minutes after each mood-driven "
    "switch or override against the {n} minutes before, minutes with an audience only. This "
    "is observational: the kiosk switched because the mood had changed, so part of the change "
    "would have happened anyway. Only the experiment's randomised arms show cause and effect."
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RangeError(ValueError):
    """A date or time range that cannot be read; the message is for the user."""


def local_iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts)).astimezone().isoformat(timespec="seconds")


def _local(text: str, what: str) -> datetime:
    try:
        if _DATE.match(text):
            return datetime.combine(date.fromisoformat(text), time()).astimezone()
        dt = parse_iso(text)
        return dt.astimezone() if dt.tzinfo is None else dt
    except (ValueError, OverflowError, OSError):  # OverflowError/OSError: years 1 and 9999
        raise RangeError(f"{what}: {text!r} is not a date YYYY-MM-DD or an ISO time") from None


def day_range(day: str | None, now: datetime | None = None) -> tuple[float, float]:
    """Local midnight to the next local midnight of ``day`` (default: today)."""
    if day is None:
        d = (now or datetime.now().astimezone()).date()
    elif not _DATE.match(day):
        raise RangeError(f"date: {day!r} is not YYYY-MM-DD")
    else:
        try:
            d = date.fromisoformat(day)
        except ValueError:
            raise RangeError(f"date: {day!r} is not a real day") from None
    try:
        start = datetime.combine(d, time()).astimezone()
        end = datetime.combine(d + timedelta(days=1), time()).astimezone()
        return start.timestamp(), end.timestamp()
    except (ValueError, OverflowError, OSError):  # the first and last days Python knows
        raise RangeError(f"date: {day!r} is out of range") from None


def span_range(start: str, end: str) -> tuple[float, float]:
    try:
        a, b = _local(start, "from").timestamp(), _local(end, "to").timestamp()
    except (OverflowError, OSError, ValueError) as exc:
        if isinstance(exc, RangeError):
            raise
        raise RangeError(f"from/to: {start!r} .. {end!r} is out of range") from None
    if _DATE.match(end):
        b += 86400.0  # --to 2026-11-21 includes that whole day
    if b <= a:
        raise RangeError("to must be after from")
    return a, b


def summarize(
    data: dict[str, Any], start: float, end: float, effect_minutes: int, plays: bool = True
) -> dict[str, Any]:
    """The report object from ``store.read_range`` rows."""
    day = [m for m in data["minutes"] if start <= m["t"] < end]
    samples = sum(m["samples"] for m in day)
    faces_sum = sum(m["faces_sum"] for m in day)
    mood_minutes = dict.fromkeys(store.LABELS, 0.0)
    hourly: dict[str, dict[str, Any]] = {}
    for m in day:
        labelled = sum(m[k] for k in store.LABELS)
        hour = datetime.fromtimestamp(m["t"]).astimezone().replace(minute=0, second=0)
        h = hourly.setdefault(
            hour.isoformat(timespec="seconds"),
            {
                "t": hour.timestamp(),
                "samples": 0,
                "faces_sum": 0,
                "faces_max": 0,
                "audience_s": 0.0,
                "labels": {},
            },
        )
        h["samples"] += m["samples"]
        h["faces_sum"] += m["faces_sum"]
        h["faces_max"] = max(h["faces_max"], m["faces_max"])
        h["audience_s"] += m["audience_s"]
        for k in store.LABELS:
            h["labels"][k] = h["labels"].get(k, 0) + m[k]
            if labelled:
                mood_minutes[k] += m["audience_s"] / 60.0 * m[k] / labelled
    series = effect.Series.from_rows(data["minutes"])
    # The experiment's pace: decisions per day it actually ran (not per day of the span).
    days = float(len({datetime.fromtimestamp(d["t"]).date() for d in data["decisions"]}) or 1)
    out: dict[str, Any] = {
        "from": local_iso(start),
        "to": local_iso(end),
        "samples": samples,
        "audience_minutes": round(sum(m["audience_s"] for m in day) / 60.0, 2),
        "faces": {
            "mean": round(faces_sum / samples, 3) if samples else 0.0,
            "max": max((m["faces_max"] for m in day), default=0),
        },
        "mood_minutes": {k: round(v, 2) for k, v in mood_minutes.items()},
        "hourly": [_hour(k, h) for k, h in sorted(hourly.items(), key=lambda kv: kv[1]["t"])],
        "switches": [
            {"t": local_iso(s["t"]), "from": s["src"], "to": s["dst"], "reason": s["reason"]}
            for s in data["switches"]
        ],
        "effect": effect.effect_by_playlist(
            series,
            ({"t": s["t"], "to": s["dst"], "reason": s["reason"]} for s in data["switches"]),
            effect_minutes,
        ),
        "experiment": effect.experiment(series, data["decisions"], effect_minutes, days),
        "effect_by_order": effect.effect_by_order(series, data["plays"], effect_minutes),
        "faults": [
            {
                "t": local_iso(f["t"]),
                "component": f["component"],
                "message": f["message"],
                "ok": bool(f["ok"]),
            }
            for f in data["faults"]
        ],
        "commands": [
            {
                "t": local_iso(c["t"]),
                "command": c["command"],
                "source": c["source"],
                "role": c["role"],
                "user": c["user"],
                "args": _args(c["args"]),
                "ok": bool(c["ok"]),
            }
            for c in data["commands"]
        ],
        "effect_minutes": effect_minutes,
        "note": NOTE.format(n=effect_minutes),
    }
    out["plays_count"] = data.get("plays_count", len(data["plays"]))
    if data.get("cut"):
        out["truncated"] = list(data["cut"])
    if plays:
        out["plays"] = [_play(p) for p in data["plays"]]
    return out


def _args(text: str | None) -> Any:
    """A command's recorded arguments; a row cut short or edited by hand never breaks the
    whole report."""
    try:
        return json.loads(text or "{}")
    except (ValueError, TypeError):
        return {"unreadable": str(text)[:200]}


def _hour(key: str, h: dict[str, Any]) -> dict[str, Any]:
    labelled = sum(h["labels"].values())
    return {
        "hour": key,
        "samples": h["samples"],
        "faces": round(h["faces_sum"] / h["samples"], 3) if h["samples"] else 0.0,
        "faces_max": h["faces_max"],
        "audience_minutes": round(h["audience_s"] / 60.0, 2),
        "distribution": {k: round(v / labelled, 4) for k, v in h["labels"].items()}
        if labelled
        else {},
    }


def _play(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": local_iso(p["start"]),
        "end": local_iso(p["end"]),
        "path": p["path"],
        "playlist": p["playlist"],
        "title": p["title"],
        "artist": p["artist"],
        "skipped": bool(p["skipped"]),
        "failed": bool(p["failed"]),
        "valence": p.get("valence"),
        "arousal": p.get("arousal"),
        "order": p.get("order_mode"),
    }


def report(
    path: str | Path,
    start: float,
    end: float,
    effect_minutes: int,
    plays: bool = True,
    max_rows: int | None = None,
) -> dict[str, Any]:
    """Read the history file and summarise ``[start, end)`` (``max_rows``: see read_range)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no history at {path} (is history.enabled on?)")
    try:
        data = store.read_range(path, start, end, effect_minutes * 60.0 + 60.0, max_rows)
    except sqlite3.Error as exc:  # damaged or locked: an error reply, never a crash
        raise store.HistoryError(f"cannot read the history {path}: {exc}") from None
    return summarize(data, start, end, effect_minutes, plays)


def fit(obj: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """Cut the long lists (plays, commands, faults, switches) until the JSON fits."""
    out = dict(obj)
    cut: list[str] = list(out.get("truncated", []))
    for key in ("plays", "commands", "faults", "switches", "hourly"):
        while key in out and len(json.dumps(out)) > max_bytes and out[key]:
            keep = len(out[key]) // 2
            out[key] = out[key][:keep]
            if key not in cut:
                cut.append(key)
    if cut:
        out["truncated"] = cut
    return out
