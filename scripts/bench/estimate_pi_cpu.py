"""Estimate the daemon's CPU share on a Raspberry Pi 4 and 5 from measurements on this machine.

Nothing here runs on a Pi: it is an estimate, and says so. It combines
- the models' op counts (multiply-accumulates of every conv, depthwise conv and dense layer,
  read from the .tflite graphs: the same graphs the arm64 root runs under emulation),
- `kiosk bench` on this machine, in the same run: the pipeline's time beside the models' own
  invoke time (the rest is Python/NumPy work: cropping, resizing, NMS),
- the daemon's measured CPU beside the vision alone (README, `scripts/bench/bench_run.py`),
- single-core throughputs for the Pi's cores (ASSUMED below, from public single-thread TFLite
  MobileNet timings; good to about ±50 %).

    python scripts/bench/estimate_pi_cpu.py [--interval 2.5] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

# Assumed sustained single-core TFLite/XNNPACK throughput, GMAC/s (float32, int8), and how
# much slower than this machine's core the Pi runs plain Python/NumPy work.
PI_CORES = {
    "Pi 4 (Cortex-A72 1.8 GHz)": {"fp32": 5.0, "int8": 8.0, "python_slowdown": 3.5},
    "Pi 5 (Cortex-A76 2.4 GHz)": {"fp32": 11.0, "int8": 25.0, "python_slowdown": 1.7},
}
# Measured here (README "kiosk run" table): whole daemon 1.85 % of a core vs vision 1.25 %.
DAEMON_REST_SHARE = 1.85 - 1.25


def model_macs(path: Path) -> float:
    """Multiply-accumulates of one invoke, from the graph's tensor shapes."""
    from kiosk.native_stderr import native_stderr_to_log
    from kiosk.vision.runtime import find_backend

    with native_stderr_to_log(logging.getLogger("litert")):  # its banner stays off stdout
        it = find_backend().interpreter_cls(model_path=str(path))
        it.allocate_tensors()
    tensors = {d["index"]: d for d in it.get_tensor_details()}
    total = 0
    for op in it._get_ops_details():
        name = op["op_name"]
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        w = tensors[op["inputs"][1]]["shape"]
        out = tensors[op["outputs"][0]]["shape"]
        positions = int(np.prod(out[:-1]))
        if name == "CONV_2D":
            total += positions * out[-1] * int(np.prod(w[1:]))
        elif name == "DEPTHWISE_CONV_2D":
            total += positions * out[-1] * w[1] * w[2]
        else:
            total += positions * w[0] * w[1]
    return float(total)


def bench() -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "bench", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def estimate(interval_s: float) -> dict:
    from kiosk.config import load_config

    cfg = load_config(None).config.vision
    root = REPO / "models"
    det = model_macs(root / Path(cfg.detector.model).name)
    cls = model_macs(root / Path(cfg.classifier.model).name)
    b = bench()
    passes, faces = b["detector_passes_per_frame"], b["faces_per_frame"]
    invoke_ms = b["invoke_ms_per_frame"]["detector"] + b["invoke_ms_per_frame"]["classifier"]
    other_ms = b["pipeline_ms_per_frame"] - invoke_ms  # Python/NumPy work around the models
    rows = {}
    for pi, core in PI_CORES.items():
        for label, n in (("tiling on", passes), ("tiling off", 1.0)):
            nn_ms = n * det / core["fp32"] / 1e6 + faces * cls / core["int8"] / 1e6
            vision_ms = nn_ms + other_ms * core["python_slowdown"]
            vision = 100 * vision_ms / (interval_s * 1000)
            rest = DAEMON_REST_SHARE * core["python_slowdown"]  # VLC, loops: not per sample
            rows[f"{pi}, {label}"] = {
                "vision_ms_per_sample": round(vision_ms, 1),
                "cpu_percent_of_one_core": round(vision + rest, 1),
            }
    return {
        "interval_s": interval_s,
        "detector_mmac_per_pass": round(det / 1e6, 1),
        "classifier_mmac_per_face": round(cls / 1e6, 1),
        "passes_per_sample": passes,
        "faces_per_sample": faces,
        "this_machine_pipeline_ms": b["pipeline_ms_per_frame"],
        "this_machine_invoke_ms": round(invoke_ms, 2),
        "estimate": rows,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=2.5, help="seconds between samples")
    ap.add_argument("--json", action="store_true", help="one JSON object")
    args = ap.parse_args()
    result = estimate(args.interval)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"op counts: detector {result['detector_mmac_per_pass']} MMAC x "
        f"{result['passes_per_sample']} passes, classifier "
        f"{result['classifier_mmac_per_face']} MMAC x {result['faces_per_sample']} faces"
    )
    print(
        f"this machine: pipeline {result['this_machine_pipeline_ms']} ms per sample, "
        f"of which models {result['this_machine_invoke_ms']} ms"
    )
    for pi, row in result["estimate"].items():
        print(
            f"ESTIMATE {pi}: vision {row['vision_ms_per_sample']} ms per sample, daemon "
            f"~{row['cpu_percent_of_one_core']} % of one core at one sample every "
            f"{args.interval:g} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
