#!/usr/bin/env python3
"""Print the model card's result tables (Markdown) from a training + export run.

    python scripts/emotion_card.py runs/emotion > /tmp/results.md

Reads <run>/summary.json (train_emotion.py) and <run>/export.json (emotion_export.py), so the
figures in models/README.md are pasted from files rather than typed by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SETS = (("7", "7 classes"), ("6", "6 classes (no disgust)"), ("4", "4 shop classes"))


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def confusion(block: dict) -> list[str]:
    labels = block["labels"]
    lines = ["| truth \\ predicted | " + " | ".join(labels) + " | recall |"]
    lines.append("|---" * (len(labels) + 2) + "|")
    for lab, row in zip(labels, block["confusion"], strict=True):
        cells = " | ".join(str(v) for v in row)
        lines.append(f"| **{lab}** | {cells} | {pct(block['recall'][lab])} |")
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("run", type=Path, help="folder with summary.json and export.json")
    args = p.parse_args()
    summary = json.loads((args.run / "summary.json").read_text())
    export = json.loads((args.run / "export.json").read_text())
    models = export["models"]
    out = ["| | " + " | ".join(name for _, name in SETS) + " |", "|---|---|---|---|"]
    for kind in ("int8", "float"):
        val = models[kind]["val"]
        accs = " | ".join(
            f"{pct(val[k]['accuracy'])} (balanced {pct(val[k]['balanced_accuracy'])})"
            for k, _ in SETS
        )
        out.append(f"| {models[kind]['file']} | {accs} |")
    loss = export["int8_loss_points"]
    out += [
        "",
        f"int8 minus float, points: 7 cls {-loss['7']:+.2f}, 6 cls {-loss['6']:+.2f}, "
        f"4 cls {-loss['4']:+.2f}",
        "",
    ]
    for kind in ("int8", "float"):
        for k, name in SETS:
            out += [
                f"**{models[kind]['file']}, {name}**",
                "",
                *confusion(models[kind]["val"][k]),
                "",
            ]
    out += ["| model | bytes | sha256 |", "|---|---|---|"]
    out += [f"| {m['file']} | {m['bytes']} | `{m['sha256']}` |" for m in models.values()]
    out += ["", "| model | median ms | p95 ms | ratio to fer |", "|---|---|---|---|"]
    for name, lat in export["latency_single_thread"].items():
        ratio = lat.get("ratio_to_fer", "")
        out.append(f"| {name} | {lat['median_ms']:.3f} | {lat['p95_ms']:.3f} | {ratio} |")
    out += [
        "",
        f"Training: best epoch {summary['best_epoch']} of {summary['epochs_run']} run, "
        f"{summary['train_minutes']} min, {summary['params']} parameters.",
        f"Train command: `{summary['command']}`",
        f"Export command: `{export['command']}`",
        f"Versions: {json.dumps(summary['versions'])} {json.dumps(export['versions'])}",
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
