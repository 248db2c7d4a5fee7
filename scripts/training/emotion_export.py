#!/usr/bin/env python3
"""Export a trained emotion CNN (train_emotion.py's output) to float and full-int8
TFLite.

    python scripts/training/emotion_export.py --run runs/emotion \
        --data ../shared/data/fer2013/train \
        --val ../shared/data/fer2013/validation --name emotion_cnn

Rebuilds the net in Keras from best_weights.npz (no torch needed), converts it twice
(float32, and full int8 with int8 input and output calibrated on training images), checks
both on the validation folder with ai-edge-litert, times them single-threaded against the
`fer` model in the same run, and writes models/<name>_float.tflite, models/<name>_int8.tflite,
their sidecars (<model>.json) and <run>/export.json with every figure for the model card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from emotion_common import LABELS, load_folder, report, stratified

from kiosk.vision.preprocess import normalize

log = logging.getLogger("emotion")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--run", type=Path, required=True, help="train_emotion.py output folder")
    p.add_argument("--data", type=Path, default=None, help="training folder (calibration images)")
    p.add_argument(
        "--ferplus", type=Path, default=None, help="FER+ train .npz: calibration images instead"
    )
    p.add_argument(
        "--wild",
        type=Path,
        default=None,
        help="wild_train root: a share of the calibration images from its train split",
    )
    p.add_argument("--wild-share", type=float, default=0.3, help="share of wild calibration images")
    p.add_argument("--val", type=Path, required=True, help="validation folder")
    p.add_argument(
        "--weights",
        default="best",
        choices=["best", "last"],
        help="checkpoint to export: best (the run's --select) or last epoch",
    )
    p.add_argument(
        "--data-note",
        default="FER2013",
        help="what the model was trained on, for the sidecar's source and license fields",
    )
    p.add_argument("--models", type=Path, default=Path("models"), help="where the models go")
    p.add_argument("--name", default="emotion_cnn", help="file stem: <name>_int8 / <name>_float")
    p.add_argument("--calib", type=int, default=500, help="calibration images (stratified)")
    p.add_argument(
        "--crop-margin",
        type=float,
        default=None,
        help="sidecar crop_margin (default: the run's own, from its summary.json)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        default=Path("models/fer_emotion_quantized.tflite"),
        help="model timed in the same run as the latency baseline",
    )
    p.add_argument("--bench-runs", type=int, default=2000, help="invocations per latency figure")
    p.add_argument(
        "--prior-tau",
        type=float,
        default=0.0,
        help="logit adjustment: subtract tau * log(training prior) from the last layer's bias\n"
        "(the class-weighted prior of the run's own targets, so 1 undoes it fully and\n"
        "evens out the classes; 0 = the net as trained). Needs --ferplus/--wild or --data",
    )
    p.add_argument(
        "--flip-average",
        action="store_true",
        help="sidecar flip_average: the kiosk averages each face with its mirror image",
    )
    p.add_argument("--seed", type=int, default=1234)
    return p.parse_args(argv)


def training_prior(args: argparse.Namespace, summary: dict) -> np.ndarray:
    """The class prior the run's loss saw: its targets (FER+ votes, smoothed one-hot wild
    and folder labels), each image weighted by the run's class weights, as train_emotion.py
    computes them."""
    from emotion_data import ferplus_soft, load_ferplus, read_split

    run_args = summary["args"]
    eps = float(run_args.get("label_smoothing", 0.1))
    power = float(run_args.get("class_weight_power", 0.5))
    repeat = int(run_args.get("wild_repeat", 3))
    eye = np.eye(len(LABELS), dtype=np.float64) * (1 - eps) + eps / len(LABELS)
    targets = []
    if args.ferplus:
        soft, keep = ferplus_soft(load_ferplus(args.ferplus)["votes"])
        targets.append(soft[keep].astype(np.float64))
    if args.wild:
        rows = read_split(Path("models/training/wild_split.csv"))
        y = [LABELS.index(r["label"]) for r in rows if r["split"] == "train"]
        targets += [eye[y]] * repeat
    if args.data and not args.ferplus:
        _, y = load_folder(args.data, 0, args.run.parent / "cache" / "train_all.npz")
        targets.append(eye[y])
    t = np.concatenate(targets)
    counts = np.bincount(t.argmax(1), minlength=len(LABELS))
    w = (counts.max() / np.maximum(counts, 1)) ** power
    prior = (t * (t @ w)[:, None]).sum(0)
    return prior / prior.sum()


def build_keras(widths: list[int], convs: list[int], size: int, n_classes: int = len(LABELS)):
    """The training net layer for layer; ends in softmax so the model returns probabilities."""
    import keras
    from keras import layers

    inp = keras.Input((size, size, 1), name="face")
    x = inp
    for w, n in zip(widths, convs, strict=True):
        for _ in range(n):
            x = layers.Conv2D(w, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(epsilon=1e-5)(x)  # PyTorch's epsilon
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(n_classes)(x)
    out = layers.Softmax(name="probabilities")(x)
    return keras.Model(inp, out)


def copy_weights(model, weights: dict[str, np.ndarray]) -> None:
    """PyTorch state-dict arrays (Sequential indices) into the Keras layers, in order."""
    groups: dict[int, dict[str, np.ndarray]] = {}
    for key, arr in weights.items():
        idx, name = key.split(".", 1)
        groups.setdefault(int(idx), {})[name] = arr
    torch_layers = [groups[i] for i in sorted(groups)]
    keras_layers = [lay for lay in model.layers if lay.weights]
    if len(torch_layers) != len(keras_layers):
        raise SystemExit(
            f"layer count differs: torch {len(torch_layers)}, keras {len(keras_layers)}"
        )
    for t, k in zip(torch_layers, keras_layers, strict=True):
        kind = type(k).__name__
        if kind == "Conv2D":
            k.set_weights([t["weight"].transpose(2, 3, 1, 0)])
        elif kind == "BatchNormalization":
            k.set_weights([t["weight"], t["bias"], t["running_mean"], t["running_var"]])
        elif kind == "Dense":
            k.set_weights([t["weight"].T, t["bias"]])
        else:
            raise SystemExit(f"unexpected layer {kind}")


def convert(model, calib: np.ndarray | None, spec=None) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if calib is not None:

        def representative():
            for img in calib:
                yield [normalize(img, spec)[None, :, :, None]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


class Runner:
    """One single-threaded LiteRT interpreter; float in/out whatever the tensor types."""

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interp = Interpreter(model_path=str(path), num_threads=1)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        d = self.inp
        if d["dtype"] != np.float32:
            s, z = d["quantization"]
            info = np.iinfo(d["dtype"])
            x = np.clip(np.round(x / s + z), info.min, info.max).astype(d["dtype"])
        self.interp.set_tensor(d["index"], x)
        self.interp.invoke()
        y = self.interp.get_tensor(self.out["index"])
        if self.out["dtype"] != np.float32:
            s, z = self.out["quantization"]
            y = (y.astype(np.float32) - z) * s
        return y.reshape(-1)


def evaluate(path: Path, x_u8: np.ndarray, spec) -> np.ndarray:
    run = Runner(path)
    return np.stack([run(normalize(img, spec)[None, :, :, None]) for img in x_u8])


def bench(paths: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    """Median/p95 invoke time per model, interleaved in rounds so shared-CPU load hits all alike."""
    runners = {k: Runner(p) for k, p in paths.items()}
    inputs = {}
    for k, r in runners.items():
        shape = r.inp["shape"]
        inputs[k] = np.random.default_rng(0).random(shape, dtype=np.float32)
        for _ in range(50):
            r(inputs[k])
    times: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(max(1, runs // 100)):
        for k, r in runners.items():
            for _ in range(100):
                t0 = time.perf_counter()
                r(inputs[k])
                times[k].append((time.perf_counter() - t0) * 1000)
    return {
        k: {"median_ms": float(np.median(v)), "p95_ms": float(np.percentile(v, 95))}
        for k, v in times.items()
    }


def sidecar(
    name: str, tflite: Path, spec, kind: str, data_note: str = "FER2013", flip: bool = False
) -> dict:
    """The sidecar: the preprocessing fields come from the spec the run trained with."""
    return {
        "name": name,
        "labels": LABELS,
        "input_size": list(spec.input_size),
        "color": spec.color,
        "normalize": {"scale": spec.normalize.scale, "offset": spec.normalize.offset},
        "equalize": spec.equalize,
        "output": "probabilities",
        "crop_margin": spec.crop_margin,
        "crop_square": True,
        "flip_average": flip,
        "source": f"mood-kiosk scripts/training/train_emotion.py + emotion_export.py ({kind}), "
        f"trained on {data_note}; see models/README.md",
        "license": f"weights: this project's licence; training data {data_note} (research "
        "terms, see models/README.md)",
        "sha256": hashlib.sha256(tflite.read_bytes()).hexdigest(),
    }


def run_spec(summary: dict, margin: float | None):
    """The run's preprocessing (summary.json "preprocess"; older runs: gray, x/255)."""
    from train_emotion import preprocess_spec

    pre = summary.get("preprocess", {})
    if margin is None:
        margin = float(pre.get("crop_margin", 0.08))
    return preprocess_spec(int(summary["input_size"]), margin, bool(pre.get("equalize", False)))


def calibration_images(args: argparse.Namespace, spec) -> np.ndarray:
    """Calibration pixels, stratified, from the same kinds of images the run trained on."""
    from train_emotion import to_model_pixels

    parts = []
    n_wild = round(args.calib * args.wild_share) if args.wild else 0
    if args.ferplus:
        from emotion_data import ferplus_soft, load_ferplus

        z = load_ferplus(args.ferplus)
        soft, keep = ferplus_soft(z["votes"])
        x, y = z["images"][keep], soft[keep].argmax(1)
        parts.append(to_model_pixels(x[stratified(y, args.calib - n_wild, args.seed)], spec))
    elif args.data:
        x, y = load_folder(args.data, 0, args.run.parent / "cache" / "train_all.npz")
        parts.append(to_model_pixels(x[stratified(y, args.calib - n_wild, args.seed)], spec))
    else:
        raise SystemExit("emotion_export.py: give --data or --ferplus for calibration images")
    if n_wild:
        from emotion_data import detect_boxes, read_split, wild_pixels

        split = Path("models/training/wild_split.csv")
        rows = [r for r in read_split(split) if r["split"] == "train"]
        boxes = detect_boxes(args.wild, rows, Path("runs/wild/boxes.json"))
        x, y, _ = wild_pixels(args.wild, rows, boxes, spec, spec.crop_margin)
        parts.append(x[stratified(y, n_wild, args.seed)])
    return np.concatenate(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import tensorflow as tf

    tf.random.set_seed(args.seed)
    summary = json.loads((args.run / "summary.json").read_text())
    widths = [int(w) for w in summary["widths"]]
    convs = [int(n) for n in summary["convs"]]
    size = int(summary["input_size"])
    spec = run_spec(summary, args.crop_margin)
    with np.load(args.run / f"{args.weights}_weights.npz") as z:
        weights = {k: z[k] for k in z.files if not k.endswith("num_batches_tracked")}
    model = build_keras(widths, convs, size)
    copy_weights(model, weights)

    cache = args.run.parent / "cache"
    from train_emotion import to_model_pixels

    x_va, y_va = load_folder(args.val, 0, cache / "val_all.npz")
    x_va = to_model_pixels(x_va, spec)
    keras_probs = model.predict(normalize(x_va, spec)[..., None], batch_size=256, verbose=0)
    keras_acc6 = report(keras_probs, y_va)["6"]["accuracy"]
    metrics_path = args.run / f"{args.weights}_metrics.json"
    trained = json.loads(metrics_path.read_text())["val"] if metrics_path.exists() else {}
    if "fer2013_val" in trained:
        trained_acc6 = trained["fer2013_val"]["6"]["accuracy"]
    else:
        trained_acc6 = summary["best_val_acc6"]
    log.info("keras rebuild 6-class %.4f vs trained %.4f", keras_acc6, trained_acc6)
    if abs(keras_acc6 - trained_acc6) > 0.002:
        raise SystemExit("the Keras rebuild does not reproduce the trained net; not exporting")

    out: dict = {"name": args.name, "models": {}, "prior_tau": args.prior_tau}
    if args.prior_tau:
        prior = training_prior(args, summary)
        dense = next(la for la in reversed(model.layers) if type(la).__name__ == "Dense")
        kernel, bias = dense.get_weights()
        dense.set_weights([kernel, bias - args.prior_tau * np.log(prior).astype(np.float32)])
        out["training_prior"] = dict(zip(LABELS, prior.round(4).tolist(), strict=True))
        log.info("logit adjustment tau %.2f, prior %s", args.prior_tau, out["training_prior"])
    args.models.mkdir(parents=True, exist_ok=True)
    calib = calibration_images(args, spec)
    out["calibration_images"] = len(calib)
    paths = {}
    for kind, data in (("float", None), ("int8", calib)):
        path = args.models / f"{args.name}_{kind}.tflite"
        path.write_bytes(convert(model, data, spec))
        meta = sidecar(f"{args.name}-{kind}", path, spec, kind, args.data_note, args.flip_average)
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
        paths[kind] = path
        t0 = time.monotonic()
        metrics = report(evaluate(path, x_va, spec), y_va)
        out["models"][kind] = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "val": metrics,
        }
        log.info(
            "%s: %d bytes, val 7cls %.4f 6cls %.4f 4cls %.4f (%.0f s)",
            path.name,
            path.stat().st_size,
            metrics["7"]["accuracy"],
            metrics["6"]["accuracy"],
            metrics["4"]["accuracy"],
            time.monotonic() - t0,
        )
    drop = {
        k: out["models"]["float"]["val"][k]["accuracy"]
        - out["models"]["int8"]["val"][k]["accuracy"]
        for k in ("7", "6", "4")
    }
    out["int8_loss_points"] = {k: round(v * 100, 2) for k, v in drop.items()}
    if args.baseline.exists():
        paths["fer_baseline"] = args.baseline
    lat = bench(paths, args.bench_runs)
    if "fer_baseline" in lat:
        base = lat["fer_baseline"]["median_ms"]
        for v in lat.values():
            v["ratio_to_fer"] = round(v["median_ms"] / base, 3)
    out["latency_single_thread"] = lat
    from ai_edge_litert import __version__ as litert_version  # type: ignore[attr-defined]

    out["versions"] = {
        "tensorflow": tf.__version__,
        "ai_edge_litert": litert_version,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    out["command"] = " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    (args.run / "export.json").write_text(json.dumps(out, indent=1))
    log.info("int8 loss (points) %s; latency %s", out["int8_loss_points"], lat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
