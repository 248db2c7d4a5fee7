"""``kiosk bench``: per-stage latency of the vision pipeline on frames it builds itself.

The models' bare invoke time is the floor; the report gives the whole pipeline as a ratio of
it, measured in the same run, because absolute milliseconds on a shared machine are noise.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from kiosk.commands._common import add_config_arg, build_pipeline_or_exit, load_or_exit, with_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure per-stage latency of the vision pipeline",
        description="Builds 1280×720 JPEG frames with 2-6 real faces in memory, then times "
        "JPEG decode, detection and classification per face against the models' own "
        "invoke time.",
    )
    p.add_argument("--frames", type=int, default=30, help="frames to time (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed frames first")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--model", default=None, help="emotion .tflite to use instead of the config's")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_arg(p)
    p.set_defaults(func=run)


def _stats(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"median": 0.0, "p95": 0.0, "mean": 0.0}
    return {
        "median": round(float(np.median(a)), 3),
        "p95": round(float(np.percentile(a, 95)), 3),
        "mean": round(float(a.mean()), 3),
    }


def run(args: argparse.Namespace) -> int:
    import cv2

    from kiosk.camera.compose import crowd_frame

    loaded = with_model(load_or_exit(args), args.model)
    pipeline = build_pipeline_or_exit(loaded)
    rng = np.random.default_rng(7)
    jpegs = []
    for i in range(args.frames + args.warmup):
        sizes = [int(rng.integers(60, 201)) for _ in range(int(rng.integers(2, 7)))]
        frame, _ = crowd_frame(args.width, args.height, sizes, seed=i)
        jpegs.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1])

    det_model = pipeline.detector.model
    cls_model = pipeline.classifier.model
    decode_ms, detect_ms, classify_ms, per_face_ms = [], [], [], []
    det_invoke = cls_invoke = 0.0
    faces_total = 0
    for i, buf in enumerate(jpegs):
        if i == args.warmup:
            det_model.reset_stats()
            cls_model.reset_stats()
        t0 = time.perf_counter()
        frame = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        t1 = time.perf_counter()
        dets = pipeline.detector.detect(frame)
        t2 = time.perf_counter()
        pipeline.classify_faces(frame, dets)
        t3 = time.perf_counter()
        if i < args.warmup:
            continue
        decode_ms.append((t1 - t0) * 1000)
        detect_ms.append((t2 - t1) * 1000)
        classify_ms.append((t3 - t2) * 1000)
        if dets:
            per_face_ms.append((t3 - t2) * 1000 / len(dets))
        faces_total += len(dets)
    det_invoke, cls_invoke = det_model.invoke_ms_total, cls_model.invoke_ms_total
    n = max(1, args.frames)
    pipeline_ms = sum(detect_ms) + sum(classify_ms)
    invoke_ms = det_invoke + cls_invoke
    rt = loaded.config.vision.runtime
    report = {
        "frames": args.frames,
        "frame_size": [args.width, args.height],
        "faces_per_frame": round(faces_total / n, 2),
        "runtime": det_model.backend.name,
        "num_threads": rt.num_threads,
        "detector_passes_per_frame": round(det_model.invoke_count / n, 2),
        "stages_ms": {
            "decode": _stats(decode_ms),
            "detect": _stats(detect_ms),
            "classify_frame": _stats(classify_ms),
            "classify_per_face": _stats(per_face_ms),
        },
        "invoke_ms_per_frame": {
            "detector": round(det_invoke / n, 3),
            "classifier": round(cls_invoke / n, 3),
            "classifier_per_face": round(cls_invoke / max(1, cls_model.invoke_count), 3),
        },
        "pipeline_ms_per_frame": round(pipeline_ms / n, 3),
        "ratio_pipeline_to_invoke": round(pipeline_ms / max(invoke_ms, 1e-9), 3),
        "ratio_with_decode_to_invoke": round(
            (pipeline_ms + sum(decode_ms)) / max(invoke_ms, 1e-9), 3
        ),
    }
    if args.json:
        print(json.dumps(report))
        return 0
    s = report["stages_ms"]
    inv = report["invoke_ms_per_frame"]
    print(
        f"{args.frames} frames {args.width}x{args.height}, "
        f"{report['faces_per_frame']} faces/frame, "
        f"runtime {report['runtime']} ({rt.num_threads} thread(s)), "
        f"{report['detector_passes_per_frame']} detector passes/frame"
    )
    for name, st in s.items():
        print(f"  {name:<18} median {st['median']:8.2f} ms   p95 {st['p95']:8.2f} ms")
    print(
        f"  models' invoke     detector {inv['detector']:.2f} ms/frame, "
        f"classifier {inv['classifier_per_face']:.2f} ms/face"
    )
    print(
        f"  pipeline (detect+classify) = {report['ratio_pipeline_to_invoke']:.2f} x invoke "
        f"(goal <= 1.3); with JPEG decode {report['ratio_with_decode_to_invoke']:.2f} x"
    )
    return 0
