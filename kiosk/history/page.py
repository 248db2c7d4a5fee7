"""The self-contained HTML report: inline CSS, PNG figures as data: URIs, no network."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from kiosk.history import charts

CSS = """
body { font-family: sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { margin-top: 32px; font-size: 20px; }
.sub { color: #666; margin-top: 0; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; margin: 16px 0; }
.card { background: #f4f6f8; border-radius: 8px; padding: 12px 18px; min-width: 160px; }
.card b { display: block; font-size: 24px; }
img { max-width: 100%; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }
th { background: #f4f6f8; } .num { text-align: right; }
.note { color: #555; max-width: 900px; }
"""


def _img(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{b64}">'


def _minutes(m: float) -> str:
    h, rest = divmod(round(m), 60)
    return f"{h} h {rest:02d} min" if h else f"{rest} min"


def _change(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:+.0f}"


def _effect_rows(effect: list[dict[str, Any]]) -> str:
    if not effect:
        return "<p>No mood-driven switch with people in view before and after it yet.</p>"
    rows = []
    for e in effect:
        ci = e["ci95"]
        ci_text = "needs 2 or more" if ci is None else f"{_change(ci[0])} to {_change(ci[1])}"
        if ci is None:
            verdict = "too few switches to tell"
        elif ci[0] > 0:
            verdict = "mood got better"
        elif ci[1] < 0:
            verdict = "mood got worse"
        else:
            verdict = "no clear change"
        rows.append(
            f"<tr><td>{escape(e['playlist'])}</td><td class=num>{e['count']}</td>"
            f"<td class=num>{_change(e['mean_change'])}</td><td>{ci_text}</td>"
            f"<td>{verdict}</td></tr>"
        )
    head = (
        "<tr><th>Switched to</th><th>Switches</th><th>Mood score change (average)</th>"
        "<th>95 % range</th><th>In plain words</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _order_rows(x: dict[str, Any] | None) -> str:
    if not x:
        return ""
    rows = "".join(
        f"<tr><td>{escape(o['order'])}</td><td class=num>{o['count']}</td>"
        f"<td class=num>{_change(o['mean_change'])}</td></tr>"
        for o in x["orders"]
    )
    head = "<tr><th>Track order</th><th>Tracks</th><th>Mood score change (average)</th></tr>"
    return f"<h3>Track order</h3><table>{head}{rows}</table>"


def _experiment(x: dict[str, Any] | None) -> str:
    if x is None:
        return (
            "<p>The experiment mode is off. Turn on <code>policy.experiment</code> to let the "
            "kiosk pick at random between its strategy and a control, which shows cause and "
            "effect rather than coincidence.</p>"
        )
    ci = x["ci95"]
    diff = _change(x["difference"])
    rng = "" if ci is None else f" (95 % range {_change(ci[0])} to {_change(ci[1])})"
    more = x["more_days_needed"]
    if x["significant"]:
        tail = "This difference is clear (it is not chance)."
    elif more is None:
        tail = "There is not enough data yet to say how long it will take."
    else:
        tail = f"At this rate about {more} more day(s) would settle it."
    return (
        f"<p>{x['decisions']} random decisions: strategy {x['strategy']['count']}, control "
        f"{x['control']['count']}. The strategy moved the mood score by {diff} compared with the "
        f"control{rng}. {tail}</p>"
    )


def render(summary: dict[str, Any], data: dict[str, Any], start: float, end: float) -> str:
    main = charts.png(charts.main_figure(data, start, end))
    visitors = charts.png(charts.visitors_figure(summary))
    plays = summary.get("plays", [])
    tracks = charts.png(charts.tracks_figure(plays))
    moods = summary["mood_minutes"]
    top = max(moods, key=moods.get) if any(moods.values()) else None
    cards = [
        ("People in view", _minutes(summary["audience_minutes"])),
        ("Faces on average", f"{summary['faces']['mean']:.1f} (most {summary['faces']['max']})"),
        ("Most common mood", charts.WORDS.get(top, "–") if top else "–"),
        ("Music changes", str(len(summary["switches"]))),
        ("Tracks played", str(len(plays))),
    ]
    card_html = "".join(f"<div class=card>{escape(k)}<b>{escape(v)}</b></div>" for k, v in cards)
    mood_rows = "".join(
        f"<tr><td>{escape(charts.WORDS[k])}</td><td class=num>{_minutes(moods[k])}</td></tr>"
        for k in charts.ORDER
        if moods.get(k)
    )
    play_rows = "".join(
        f"<tr><td>{escape((p['start'] or '')[11:19])}</td><td>{escape(p['title'] or '')}</td>"
        f"<td>{escape(p['artist'] or '')}</td><td>{escape(p['playlist'] or '')}</td>"
        f"<td>{'skipped' if p['skipped'] else ''}{' failed' if p.get('failed') else ''}</td></tr>"
        for p in plays[:500]
    )
    more = f"<p>… and {len(plays) - 500} more (see the CSV).</p>" if len(plays) > 500 else ""
    period = f"{summary['from'][:16].replace('T', ' ')} to {summary['to'][:16].replace('T', ' ')}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Shop mood report {escape(period)}</title>
<style>{CSS}</style></head><body>
<h1>Shop mood report</h1><p class=sub>{escape(period)} · counted by the kiosk's camera;
no pictures or identities are ever stored, only counts.</p>
<div class=cards>{card_html}</div>
<h2>Mood over the day</h2>{_img(main, "mood over the day and playlist timeline")}
<table><tr><th>Mood</th><th>Time</th></tr>{mood_rows}</table>
<h2>Visitors</h2>{_img(visitors, "people in view per hour")}
<h2>What played: top tracks</h2>{_img(tracks, "most played tracks")}
<h2>Does the music help?</h2>
<p class=note>The <b>mood score</b> is the percentage of faces looking happy or surprised
minus the percentage looking sad, angry, worried or disgusted: from -100 (everyone unhappy) to
+100 (everyone smiling). The table compares the score in the
{escape(str(summary.get("effect_minutes", 10)))} minutes after the kiosk changed the music
with the same time before, counting only minutes with people in view. A positive change means
more smiling faces after the change. It is an observation, not proof: the kiosk changes the
music because the mood changed, so some of the change would have happened anyway.</p>
{_effect_rows(summary["effect"])}
<h3>Experiment</h3>{_experiment(summary.get("experiment"))}
{_order_rows(summary.get("effect_by_order"))}
<h2>Play log</h2><table><tr><th>Time</th><th>Title</th><th>Artist</th><th>Playlist</th>
<th></th></tr>{play_rows}</table>{more}
</body></html>
"""
