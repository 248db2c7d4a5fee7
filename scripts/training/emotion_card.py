#!/usr/bin/env python3
"""Print the model card's result tables (Markdown) from a training + export run.

    python scripts/training/emotion_card.py runs/emotion > /tmp/results.md

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


REAL = (
    ("ferplus_test", "FER+ test"),
    ("wild_sfew", "SFEW held out"),
    ("wild_muxspace", "muxspace held out"),
)


def real_world(paths: list[Path]) -> list[str]:
    """The real-world table from scripts/training/emotion_measure.py JSON files, one row each."""
    head = " | ".join(name for _, name in REAL)
    out = [
        f"| model | {head} | **real mean** | SFEW / muxspace, unseen clip or person | "
        "fer2013/validation |",
        "|---" * 7 + "|",
    ]
    for path in paths:
        m = json.loads(path.read_text())
        sets = m["sets"]
        name = Path(m["model"]).name + (" + flip" if m.get("flip_average") else "")
        name += " + equalize" if m.get("equalize") and "real" not in name else ""
        cells = " | ".join(
            f"{pct(sets[k]['accuracy'])} (bal. {pct(sets[k]['balanced_accuracy'])})"
            for k, _ in REAL
        )
        unseen = " / ".join(
            f"{pct(sets[k]['unseen_group']['accuracy'])}" for k in ("wild_sfew", "wild_muxspace")
        )
        out.append(
            f"| {name} | {cells} | **{pct(m['real_mean'])}** | {unseen} | "
            f"{pct(sets['fer2013_val']['accuracy'])} |"
        )
    return out


def calibration_table(path: Path) -> list[str]:
    c = json.loads(path.read_text())["wild_calibration"]
    out = [
        "| min top probability | faces kept | accuracy of kept | errors kept |",
        "|---|---|---|---|",
    ]
    for t, v in c["by_threshold"].items():
        out.append(
            f"| {t} | {pct(v['faces_kept'])} | {pct(v['accuracy_of_kept'])} | "
            f"{pct(v['errors_kept'])} |"
        )
    q = c["correct_top_prob_quantiles"], c["wrong_top_prob_quantiles"]
    out += [
        "",
        "Top probability, quartiles 25/50/75: right answers "
        + "/".join(f"{q[0][k]:.2f}" for k in ("25", "50", "75"))
        + ", wrong ones "
        + "/".join(f"{q[1][k]:.2f}" for k in ("25", "50", "75")),
    ]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("run", type=Path, nargs="?", help="folder with summary.json and export.json")
    p.add_argument(
        "--measure", type=Path, nargs="+", default=None, help="emotion_measure.py JSON files"
    )
    p.add_argument("--calibration", type=Path, default=None, help="one emotion_measure.py JSON")
    args = p.parse_args()
    if args.measure or args.calibration:
        lines = real_world(args.measure) if args.measure else []
        if args.calibration:
            lines += ["", *calibration_table(args.calibration)]
        print("\n".join(lines))
        return 0
    if args.run is None:
        p.error("give a run folder, or --measure / --calibration")
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
