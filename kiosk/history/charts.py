"""Figures for ``kiosk report`` (matplotlib, Agg). Imported by the report command only:
the daemon never loads matplotlib (its RSS budget is 150 MB).

Made for a shop manager, not an engineer: plain titles, local clock times, one colour per
mood used everywhere, and the hours nobody was in view greyed out.
"""

from __future__ import annotations

import bisect
import io
from datetime import datetime
from typing import Any

import dateutil.tz
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from kiosk.history.store import LABELS

matplotlib.rcParams["text.parse_math"] = False  # a "$" in a track title is just a "$"

# Warm colours for the pleasant moods, cool and dark for the unpleasant ones.
COLOURS = {
    "happy": "#f6c026",
    "surprise": "#f28e2b",
    "neutral": "#c9c9c9",
    "sad": "#4e79a7",
    "fear": "#8c6bb1",
    "angry": "#d62728",
    "disgust": "#59a14f",
}
ORDER = ("happy", "surprise", "neutral", "sad", "fear", "disgust", "angry")
WORDS = {
    "happy": "happy",
    "surprise": "surprised",
    "neutral": "neutral",
    "sad": "sad",
    "fear": "worried",
    "angry": "angry",
    "disgust": "disgusted",
}
BIN_S = 300  # one bar per 5 minutes for a day; longer spans widen it (about 288 bars)


def bin_seconds(start: float, end: float) -> int:
    days = max(1, round((end - start) / 86400.0))
    return BIN_S * days


# Muted colours for the playlists, so they never look like a mood.
PLAYLIST_COLOURS = plt.get_cmap("Set2").colors + plt.get_cmap("Pastel2").colors


def _tz() -> Any:
    # The local zone with its rules, not today's fixed offset: a summer day shown in winter,
    # or the hours after a DST change, keep their own offset.
    return dateutil.tz.tzlocal()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, _tz())


def bins(minutes: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Bins (5 minutes for a day) of the minutes in [start, end): faces, audience time."""
    size = bin_seconds(start, end)
    out: dict[int, dict[str, Any]] = {}
    for m in minutes:
        if not start <= m["t"] < end:
            continue
        key = int(m["t"] // size) * size
        b = out.setdefault(
            key, {"t": key, "seconds": 0.0, "audience_s": 0.0, **dict.fromkeys(LABELS, 0)}
        )
        b["seconds"] += m["seconds"]
        b["audience_s"] += m["audience_s"]
        for k in LABELS:
            b[k] += m[k]
    return [out[k] for k in sorted(out)]


GAP_S = 1800  # no sample for this long: the kiosk was off, the playlist bar stops


def _segments(
    switches: list[dict[str, Any]], t_end: float, seen: list[float]
) -> list[tuple[float, float, str]]:
    """(start, end, playlist) from the switches; a bar ends at the next switch, or where
    the samples stop for GAP_S (a night with the kiosk off)."""
    segs = []
    for i, s in enumerate(switches):
        stop = switches[i + 1]["ts"] if i + 1 < len(switches) else t_end
        j = bisect.bisect_left(seen, s["ts"] - 60)
        while j + 1 < len(seen) and seen[j + 1] < stop and seen[j + 1] - seen[j] <= GAP_S:
            j += 1
        if j < len(seen) and seen[j] < stop:
            stop = min(stop, max(seen[j] + 60, s["ts"] + 60))
        if s["to"] is not None and stop > s["ts"]:
            segs.append((s["ts"], stop, s["to"]))
    return segs


def main_figure(data: dict[str, Any], start: float, end: float) -> Figure:
    """Mood over the day (stacked shares per 5 min) above the playlist timeline."""
    b = bins(data["minutes"], start, end)
    switches = [
        {"ts": s["t"], "to": s["dst"], "reason": s["reason"]}
        for s in data["switches"]
        if start <= s["t"] < end
    ]
    fig, (ax, tl) = plt.subplots(
        2, 1, figsize=(12, 6.2), sharex=True, gridspec_kw={"height_ratios": [4, 1.3]}
    )
    fig.subplots_adjust(left=0.07, right=0.8, top=0.9, bottom=0.1, hspace=0.08)
    day = f"on {_dt(start):%A %d %B %Y}" if end - start <= 86400 * 1.05 else "in this period"
    fig.suptitle(f"How the shop felt {day}, and what was playing", fontsize=15, x=0.07,
                 ha="left")  # fmt: skip
    if not b:
        ax.text(0.5, 0.5, "No one was recorded in this period", ha="center", va="center",
                transform=ax.transAxes, fontsize=14, color="#555")  # fmt: skip
        t0, t1 = start, min(end, start + 86400)
    else:
        t0, t1 = b[0]["t"], b[-1]["t"] + bin_seconds(start, end)
        if switches:
            t1 = max(t1, switches[-1]["ts"] + 60)
    x = [_dt(v["t"]) for v in b]
    width = (
        bin_seconds(start, end) / 86400.0 * 1.01
    )  # a hair wider: no white seams between the bars
    bottom = [0.0] * len(b)
    # Each bar is the whole 5 minutes: coloured for the time people were in view (split by
    # their mood), hatched grey for the time nobody was.
    present = [min(1.0, v["audience_s"] / v["seconds"]) if v["seconds"] else 0.0 for v in b]
    for label in ORDER:
        shares = []
        for v, p in zip(b, present, strict=True):
            faces = sum(v[k] for k in LABELS)
            shares.append(p * v[label] / faces if faces else 0.0)
        ax.bar(x, shares, width=width, bottom=bottom, align="edge", color=COLOURS[label],
               label=WORDS[label], linewidth=0)  # fmt: skip
        bottom = [a + s for a, s in zip(bottom, shares, strict=True)]
    empty = [1.0 - a for a in bottom]
    ax.bar(x, empty, width=width, bottom=bottom, align="edge", color="#f2f2f2", hatch="//",
           edgecolor="#d0d0d0", linewidth=0)  # fmt: skip
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0 %", "25 %", "50 %", "75 %", "100 %"])
    minutes = bin_seconds(start, end) // 60
    ax.set_ylabel(f"Share of each {minutes} minutes")
    handles = [Patch(color=COLOURS[k], label=WORDS[k]) for k in ORDER]
    handles.append(
        Patch(facecolor="#eeeeee", edgecolor="#d0d0d0", hatch="//", label="nobody in view")
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              title="Faces looking…", alignment="left")  # fmt: skip
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    seen = sorted(m["t"] for m in data["minutes"] if start <= m["t"] < end)
    _timeline(tl, switches, t1, seen)
    tl.set_xlim(_dt(t0), _dt(t1))
    fmt = "%H:%M" if end - start <= 86400 * 1.05 else "%a %d %b\n%H:%M"
    tl.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=_tz()))
    tl.set_xlabel("Time of day" if end - start <= 86400 * 1.05 else "Day")
    return fig


def _timeline(tl: Any, switches: list[dict[str, Any]], t_end: float, seen: list[float]) -> None:
    segs = _segments(switches, t_end, seen)
    if not segs:
        return
    names = sorted({s[2] for s in segs})
    colour = {n: PLAYLIST_COLOURS[i % len(PLAYLIST_COLOURS)] for i, n in enumerate(names)}
    for a, z, name in segs:
        left, right = _dt(a), _dt(z)
        tl.barh(0, right - left, left=left, height=0.8, color=colour[name], ec="white", lw=1)
        if (z - a) / max(1.0, t_end - segs[0][0]) > 0.06:
            tl.text(left + (right - left) / 2, 0, name, ha="center", va="center", fontsize=9)
    for s in switches:
        marker = "v" if s["reason"] in ("mood", "override") else "|"
        tl.plot([_dt(s["ts"])], [0.55], marker=marker, color="black", ms=7, clip_on=False)
    tl.set_ylim(-0.5, 0.75)
    tl.set_yticks([0], ["Music"])
    handles = [Patch(color=colour[n], label=n) for n in names]
    handles.append(
        plt.Line2D([], [], marker="v", color="black", ls="", label="switch for the mood")
    )
    tl.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.15), frameon=False,
              fontsize=8, title="Playlist", alignment="left")  # fmt: skip
    for side in ("top", "right", "left"):
        tl.spines[side].set_visible(False)


def visitors_figure(summary: dict[str, Any]) -> Figure:
    hours = summary["hourly"]
    fig, ax = plt.subplots(figsize=(12, 3.2))
    fig.subplots_adjust(left=0.07, right=0.8, top=0.85, bottom=0.2)
    ax.set_title("People in view, per hour", loc="left", fontsize=13)
    labels = [h["hour"][11:16] for h in hours]
    ax.bar(labels, [h["faces"] for h in hours], color="#4e79a7", label="on average")
    ax.plot(labels, [h["faces_max"] for h in hours], "o", color="#f28e2b", label="at most")
    ax.set_ylabel("faces")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    if not hours:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
    return fig


def top_tracks(plays: list[dict[str, Any]], n: int = 10) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for p in plays:
        name = p.get("title") or (p.get("path") or "?").rsplit("/", 1)[-1]
        if p.get("artist"):
            name = f"{name} - {p['artist']}"
        counts[name] = counts.get(name, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def tracks_figure(plays: list[dict[str, Any]]) -> Figure:
    top = top_tracks(plays)
    height = 1.2 + 0.35 * max(3, len(top))  # inches; the margins stay ~0.4 in
    fig, ax = plt.subplots(figsize=(12, height))
    fig.subplots_adjust(left=0.35, right=0.8, top=1 - 0.4 / height, bottom=0.6 / height)
    ax.set_title("Most played tracks", loc="left", fontsize=13)
    names = [t[0][:60] for t in reversed(top)]
    ax.barh(names, [t[1] for t in reversed(top)], color="#59a14f")
    ax.set_xlabel("times played")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if not top:
        ax.text(0.5, 0.5, "Nothing played", ha="center", va="center", transform=ax.transAxes)
    return fig


def png(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    return buf.getvalue()
