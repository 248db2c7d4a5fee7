#!/usr/bin/env python3
"""Train the kiosk's compact emotion CNN on a folder in FER2013 layout (PyTorch; CPU or CUDA).

    python scripts/training/train_emotion.py --data ../shared/data/fer2013/train \
        --val ../shared/data/fer2013/validation --out runs/emotion

Real-world mode (issue 12; scripts/training/train_emotion_wild_recipe.sh): --ferplus NPZ trains on
FER+'s raw images with the vote distributions as soft targets, --wild ROOT adds wild_train's
train split framed by the kiosk's detector (scripts/training/emotion_data.py), --camera-aug swaps in
camera-reality augmentation, --equalize puts histogram equalisation into the sidecar, and
--time-budget runs the one-cycle schedule on the clock. Every input goes through
kiosk.vision.preprocess, the code the daemon serves with.

The defaults train the shipped student net on its own (about 80 s an epoch on 2 CPU cores,
so 80 epochs fit in about 2 hours). With --teacher RUN [RUN ...] it is distilled from larger
nets trained by this same script (scripts/training/train_emotion_recipe.sh is the shipped recipe).

Writes to OUT: train.log, history.csv, best.pt (PyTorch state dict of the epoch best by
--select), best_weights.npz (the same weights as plain arrays, which
scripts/training/emotion_export.py turns into TFLite without needing torch), last.pt /
last_weights.npz (every epoch, so a run cut short can still be exported) and summary.json.
Needs the optional `train` extra (`pip install -e .[train]`); nothing here is used at run time.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from emotion_common import LABELS, load_folder, report

from kiosk.vision.classifier import ModelMeta
from kiosk.vision.preprocess import model_pixels, normalize

log = logging.getLogger("emotion")
PCT_START = 0.25  # share of the one-cycle schedule spent warming up


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--data", type=Path, default=None, help="training folder, one subfolder per label"
    )
    p.add_argument(
        "--ferplus", type=Path, default=None, help="FER+ train .npz: raw images, vote soft targets"
    )
    p.add_argument("--wild", type=Path, default=None, help="wild_train root (source/label/img)")
    p.add_argument(
        "--wild-split",
        type=Path,
        default=Path("models/training/wild_split.csv"),
        help="scripts/training/emotion_data.py split list; train rows train, val rows validate",
    )
    p.add_argument("--wild-cache", type=Path, default=Path("runs/wild"), help="detector boxes")
    p.add_argument("--wild-repeat", type=int, default=3, help="wild images per epoch, x N")
    p.add_argument("--val", type=Path, default=None, help="validation folder (FER2013 layout)")
    p.add_argument(
        "--val-ferplus", type=Path, default=None, help="FER+ test .npz (majority-vote labels)"
    )
    p.add_argument(
        "--crop-margin",
        type=float,
        default=0.08,
        help="sidecar crop_margin: how wild photos are framed here and camera faces served",
    )
    p.add_argument(
        "--equalize", action="store_true", help="sidecar equalize: histogram-equalised input"
    )
    p.add_argument(
        "--camera-aug",
        action="store_true",
        help="camera-reality augmentation (emotion_augment.py) instead of the plain one",
    )
    p.add_argument(
        "--select",
        default="fer6",
        choices=["fer6", "real", "last"],
        help="best.pt is the epoch with the best: fer6 = 6-class accuracy on the first\n"
        "validation set; real = mean 6-class over every validation set; last = last epoch",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        default=0,
        help="minutes: the one-cycle schedule runs on max(step share, time share), so a run\n"
        "on a busy machine anneals and ends on time (0 = by steps only)",
    )
    p.add_argument("--out", type=Path, default=Path("runs/emotion"), help="output folder")
    p.add_argument("--epochs", type=int, default=80, help="epochs of the one-cycle schedule")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--widths", default="24,48,96,192", help="channels of the conv blocks")
    p.add_argument("--convs", default="1,2,2,2", help="3x3 convs in each block")
    p.add_argument("--input-size", type=int, default=44, help="square input side in pixels")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument(
        "--class-weight-power",
        type=float,
        default=0.5,
        help="class weight = (n_max / n_class) ** power; 0 = unweighted, 1 = inverse frequency",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=30,
        help="early stop after N epochs without gain, counted after the warm-up; validation\n"
        "swings while the one-cycle rate is high, so a small N cuts runs short",
    )
    p.add_argument("--max-minutes", type=float, default=0, help="stop after this long (0 = no cap)")
    p.add_argument("--limit", type=int, default=0, help="at most N images per label (smoke runs)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--teacher",
        type=Path,
        nargs="+",
        default=None,
        help="finished runs of this script (any widths) to distil from; their best.pt\n"
        "checkpoints are averaged (logits) into one teacher",
    )
    p.add_argument(
        "--kd-weight", type=float, default=0.7, help="share of the distillation term in the loss"
    )
    p.add_argument(
        "--amp", action="store_true", help="bf16 autocast on CUDA (faster teachers); CPU ignores it"
    )
    p.add_argument("--kd-temperature", type=float, default=4.0, help="softmax temperature for KD")
    return p.parse_args(argv)


def build_model(widths: list[int], convs: list[int], dropout: float, n_classes: int = len(LABELS)):
    """conv-BN-ReLU x n + max-pool per block, global average pool, dropout, linear.

    Plain ops only, so the same net is rebuilt layer for layer in Keras for the TFLite export
    and every op runs on XNNPACK / the Edge TPU after full-int8 quantization.
    """
    import torch.nn as nn

    layers: list[nn.Module] = []
    cin = 1
    for w, n in zip(widths, convs, strict=True):
        for _ in range(n):
            layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            cin = w
        layers.append(nn.MaxPool2d(2))
    layers += [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(cin, n_classes),
    ]
    return nn.Sequential(*layers)


def augment(x, gen):
    """Random flip, rotation, scale, shift, brightness and contrast of a (B,1,H,W) batch in [0,1].

    Done on whole batches with one affine grid_sample, which costs far less than per-image
    OpenCV calls on two cores, and runs where the batch lives (gen must be on that device).
    """
    import torch
    import torch.nn.functional as F

    b = x.shape[0]

    def u(lo: float, hi: float):
        return torch.rand(b, generator=gen, device=x.device) * (hi - lo) + lo

    angle = u(-12, 12) * math.pi / 180
    scale = u(0.9, 1.1)
    shift = 4.0 / (x.shape[-1] / 2)  # +-4 px in grid units
    tx, ty = u(-shift, shift), u(-shift, shift)
    flip = torch.where(torch.rand(b, generator=gen, device=x.device) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = u(0.7, 1.3).view(b, 1, 1, 1)
    bright = u(-0.12, 0.12).view(b, 1, 1, 1)
    return ((x - mean) * contrast + mean + bright).clamp(0.0, 1.0)


def load_teacher(run: Path, device):
    """The best checkpoint of an earlier run, frozen, with the input size it was trained at."""
    import torch

    summary = json.loads((run / "summary.json").read_text())
    model = build_model(summary["widths"], summary["convs"], summary["dropout"])
    model.load_state_dict(torch.load(run / "best.pt", map_location="cpu"))
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, int(summary["input_size"]), summary


def teacher_logits(net, size: int, xb):
    """A teacher's logits for the student's (augmented) batch, resized to its input size."""
    import torch.nn.functional as F

    if xb.shape[-1] != size:
        xb = F.interpolate(xb, size=(size, size), mode="bilinear", align_corners=False)
    return net(xb).float()


def kd_loss(student_logits, target_logits, temperature: float):
    """Hinton's soft-target term, scaled by T^2 so its gradients match the hard-label term."""
    import torch.nn.functional as F

    t = temperature
    return F.kl_div(
        F.log_softmax(student_logits / t, dim=1),
        F.softmax(target_logits / t, dim=1),
        reduction="batchmean",
    ) * (t * t)


def to_input(px: np.ndarray, spec, device):
    """(B,H,W) uint8 model pixels to the net's (B,1,H,W) input, through the serving code's
    own normalisation (kiosk.vision.preprocess.normalize)."""
    import torch

    return torch.from_numpy(normalize(px, spec)).to(device).unsqueeze(1)


def predict(model, x_u8: np.ndarray, device, batch: int = 512, spec=None) -> np.ndarray:
    import torch

    spec = spec or preprocess_spec(x_u8.shape[-1])
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x_u8), batch):
            xb = to_input(x_u8[i : i + batch], spec, device)
            outs.append(torch.softmax(model(xb), dim=1).cpu().numpy())
    return np.concatenate(outs)


def one_cycle(frac: float, peak: float) -> float:
    """torch's OneCycleLR (cosine, div 25, final div 1e4) as a function of progress 0..1."""
    start, end = peak / 25, peak / 25 / 1e4
    if frac < PCT_START:
        return start + (peak - start) * (1 - math.cos(math.pi * frac / PCT_START)) / 2
    f = min(1.0, (frac - PCT_START) / (1 - PCT_START))
    return end + (peak - end) * (1 + math.cos(math.pi * f)) / 2


def preprocess_spec(size: int, margin: float = 0.08, equalize: bool = False) -> ModelMeta:
    """The sidecar this run's model will ship with: training builds its inputs from it, and
    emotion_export.py copies its preprocessing fields into the exported sidecars."""
    return ModelMeta(
        name="training",
        labels=LABELS,
        input_size=(size, size),
        color="gray",
        normalize={"scale": 1 / 255, "offset": 0.0},
        crop_margin=margin,
        equalize=equalize,
    )


def to_model_pixels(images: np.ndarray, spec) -> np.ndarray:
    """Stacked crops through kiosk.vision.preprocess.model_pixels (resize, equalisation)."""
    return np.stack([model_pixels(img, spec) for img in images])


def soft_ce(logits, targets, weights):
    """Cross-entropy against target distributions, each image weighted (class balance)."""
    import torch

    logp = torch.log_softmax(logits, dim=1)
    return (-(targets * logp).sum(1) * weights).sum() / weights.sum()


def versions() -> dict[str, str]:
    import cv2
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }


def write_summary(out: Path, args: argparse.Namespace, **fields: object) -> None:
    """summary.json: what emotion_export.py needs, rewritten every epoch so a run cut short
    can still be exported from its best checkpoint."""
    summary = {
        **fields,
        "input_size": args.input_size,
        "dropout": args.dropout,
        "preprocess": {
            "color": "gray",
            "normalize": {"scale": 1 / 255, "offset": 0.0},
            "crop_margin": args.crop_margin,
            "equalize": args.equalize,
        },
        "labels": LABELS,
        "args": {k: str(v) for k, v in vars(args).items()},
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "versions": versions(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


def load_training(args: argparse.Namespace, spec) -> tuple[np.ndarray, np.ndarray, dict]:
    """Training pixels (N,H,W) uint8 and target distributions (N,7), with a description."""
    from emotion_data import (
        detect_boxes,
        ferplus_soft,
        load_ferplus,
        read_split,
        wild_pixels,
    )

    xs, ts, info = [], [], {}
    smooth = np.full(len(LABELS), 1.0 / len(LABELS), np.float32)
    eps = args.label_smoothing
    if args.data:
        tag = f"limit{args.limit}" if args.limit else "all"
        x, y = load_folder(args.data, args.limit, args.out.parent / "cache" / f"train_{tag}.npz")
        xs.append(to_model_pixels(x, spec))
        ts.append(np.eye(len(LABELS), dtype=np.float32)[y] * (1 - eps) + eps * smooth)
        info["folder"] = len(x)
    if args.ferplus:
        z = load_ferplus(args.ferplus)
        soft, keep = ferplus_soft(z["votes"])
        x = z["images"][keep]
        if args.limit:
            x, soft = x[: args.limit * len(LABELS)], soft[keep][: args.limit * len(LABELS)]
        else:
            soft = soft[keep]
        xs.append(to_model_pixels(x, spec))
        ts.append(soft.astype(np.float32))
        info["ferplus"] = len(x)
        info["ferplus_dropped_no_emotion_vote"] = int((~keep).sum())
    if args.wild:
        rows = [r for r in read_split(args.wild_split) if r["split"] == "train"]
        if args.limit:
            rows = rows[:: max(1, len(rows) // (args.limit * len(LABELS)))]
        boxes = detect_boxes(args.wild, rows, args.wild_cache / "boxes.json")
        x, y, found = wild_pixels(args.wild, rows, boxes, spec, args.crop_margin)
        onehot = np.eye(len(LABELS), dtype=np.float32)[y] * (1 - eps) + eps * smooth
        for _ in range(args.wild_repeat):
            xs.append(x)
            ts.append(onehot)
        info["wild"] = len(x)
        info["wild_no_face_centre_crop"] = int((~found).sum())
        info["wild_repeat"] = args.wild_repeat
    if not xs:
        raise SystemExit("train_emotion.py: give --data, --ferplus and/or --wild")
    return np.concatenate(xs), np.concatenate(ts), info


def load_validation(args: argparse.Namespace, spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Named validation sets: pixels (N,H,W) uint8 and label indices."""
    from emotion_data import detect_boxes, ferplus_majority, load_ferplus, read_split, wild_pixels

    sets = {}
    if args.val:
        x, y = load_folder(args.val, 0, args.out.parent / "cache" / "val_all.npz")
        sets["fer2013_val"] = (to_model_pixels(x, spec), y)
    if args.val_ferplus:
        z = load_ferplus(args.val_ferplus)
        y = ferplus_majority(z["votes"])
        keep = y >= 0
        sets["ferplus_test"] = (to_model_pixels(z["images"][keep], spec), y[keep])
    if args.wild:
        rows = [r for r in read_split(args.wild_split) if r["split"] == "val"]
        boxes = detect_boxes(args.wild, rows, args.wild_cache / "boxes.json")
        for source in sorted({r["source"] for r in rows}):
            sub = [r for r in rows if r["source"] == source]
            x, y, _found = wild_pixels(args.wild, sub, boxes, spec, args.crop_margin)
            sets[f"wild_{source}"] = (x, y)
    if not sets:
        raise SystemExit("train_emotion.py: give --val, --val-ferplus and/or --wild")
    return sets


def acc6(metrics: dict) -> float:
    return metrics["6"]["accuracy"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(), logging.FileHandler(args.out / "train.log")],
    )
    import torch
    from emotion_augment import camera_batch
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    log.info("args %s", vars(args))
    spec = preprocess_spec(args.input_size, args.crop_margin, args.equalize)

    t0 = time.monotonic()
    x_tr, t_tr, data_info = load_training(args, spec)
    val_sets = load_validation(args, spec)
    hard = t_tr.argmax(1)
    counts = np.bincount(hard, minlength=len(LABELS))
    log.info(
        "train %d images %s (%s), val %s, loaded in %.1f s",
        len(x_tr),
        dict(zip(LABELS, counts.tolist(), strict=True)),
        data_info,
        {k: len(v[1]) for k, v in val_sets.items()},
        time.monotonic() - t0,
    )

    weights = (counts.max() / np.maximum(counts, 1)) ** args.class_weight_power
    weights = weights / (weights * counts).sum() * counts.sum()  # mean weight per image = 1
    log.info("class weights %s", dict(zip(LABELS, np.round(weights, 3).tolist(), strict=True)))
    # An image weighs as its vote distribution's mix of classes.
    w_tr = (t_tr @ weights).astype(np.float32)

    widths = [int(w) for w in args.widths.split(",")]
    convs = [int(n) for n in args.convs.split(",")]
    model = build_model(widths, convs, args.dropout).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model %s, %d parameters, device %s", widths, n_params, device)

    steps = math.ceil(len(x_tr) / args.batch)
    total_steps = steps * args.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    amp = args.amp and device.type == "cuda"
    x_tr_dev = torch.from_numpy(x_tr).to(device)
    t_tr_dev = torch.from_numpy(t_tr).to(device)
    w_tr_dev = torch.from_numpy(w_tr).to(device)
    teachers: list = []
    teacher_info: list[dict] = []
    first_val = next(iter(val_sets.values()))
    for run in args.teacher or []:
        net, size, info = load_teacher(run, device)
        t_acc = report(predict(net, first_val[0], device), first_val[1])
        log.info(
            "teacher %s (%s, %d px): first val set 6cls %.3f",
            run,
            info["widths"],
            size,
            acc6(t_acc),
        )
        teachers.append((net, size))
        teacher_info.append(
            {
                "run": str(run),
                "widths": info["widths"],
                "convs": info["convs"],
                "input_size": size,
                "val_acc6": acc6(t_acc),
            }
        )

    hist_path = args.out / "history.csv"
    fields = ["epoch", "seconds", "lr", "train_loss", "train_acc"]
    fields += [f"{name}_acc6" for name in val_sets] + ["real_mean_acc6"]
    with hist_path.open("w", newline="") as fh:
        csv.writer(fh).writerow(fields)
    best, best_epoch, since_best = -1.0, 0, 0
    warmup_epochs = math.ceil(args.epochs * PCT_START)
    t_train = time.monotonic()
    budget_s = args.time_budget * 60
    step, frac, epoch = 0, 0.0, 0
    for epoch in range(1, args.epochs + 1):
        t_ep = time.monotonic()
        model.train()
        order = rng.permutation(len(x_tr))
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(
            range(steps),
            desc=f"epoch {epoch}/{args.epochs}",
            mininterval=30,
            leave=False,
            file=sys.stderr,
        )
        lr = args.lr
        for i in bar:
            frac = step / total_steps
            if budget_s:
                frac = max(frac, (time.monotonic() - t_train) / budget_s)
            if frac >= 1.0:
                break
            lr = one_cycle(frac, args.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            idx = torch.from_numpy(order[i * args.batch : (i + 1) * args.batch]).to(device)
            if args.camera_aug:
                px = camera_batch(x_tr_dev[idx], gen, rng)
            else:
                x = augment(x_tr_dev[idx].float().div_(255).unsqueeze(1), gen)
                px = x[:, 0].mul(255).round_().to(torch.uint8).cpu().numpy()
            xb = to_input(px, spec, device)
            tb, wb = t_tr_dev[idx], w_tr_dev[idx]
            with torch.autocast("cuda", torch.bfloat16, enabled=amp):
                logits = model(xb).float()
            loss = soft_ce(logits, tb, wb)
            if teachers:
                with torch.no_grad(), torch.autocast("cuda", torch.bfloat16, enabled=amp):
                    t_logits = sum(teacher_logits(net, size, xb) for net, size in teachers)
                loss = (1 - args.kd_weight) * loss + args.kd_weight * kd_loss(
                    logits, t_logits.float() / len(teachers), args.kd_temperature
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            total_loss = total_loss + loss.detach() * len(idx)
            correct = correct + (logits.argmax(1) == tb.argmax(1)).sum()
            seen += len(idx)
            if i % 50 == 49:
                bar.set_postfix(
                    loss=f"{float(total_loss) / seen:.3f}",
                    acc=f"{int(correct) / seen:.3f}",
                    refresh=False,
                )
        bar.close()
        total_loss, correct = float(total_loss), int(correct)
        metrics = {
            name: report(predict(model, x, device, spec=spec), y)
            for name, (x, y) in val_sets.items()
        }
        real = [acc6(m) for name, m in metrics.items() if name != "fer2013_val"]
        real_mean = float(np.mean(real)) if real else acc6(next(iter(metrics.values())))
        row = [
            epoch,
            round(time.monotonic() - t_ep, 1),
            f"{lr:.2e}",
            round(total_loss / max(1, seen), 4),
            round(correct / max(1, seen), 4),
            *[round(acc6(m), 4) for m in metrics.values()],
            round(real_mean, 4),
        ]
        with hist_path.open("a", newline="") as fh:
            csv.writer(fh).writerow(row)
        score = {
            "fer6": acc6(next(iter(metrics.values()))),
            "real": real_mean,
            "last": float(epoch),
        }[args.select]
        improved = score > best
        log.info(
            "epoch %d/%d %.0fs lr %s loss %.3f train %.3f | %s | real mean %.3f%s",
            epoch,
            args.epochs,
            row[1],
            row[2],
            row[3],
            row[4],
            " ".join(f"{n} {acc6(m):.3f}" for n, m in metrics.items()),
            real_mean,
            "  *best*" if improved else "",
        )
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        # Every epoch leaves an exportable checkpoint, so a run cut short still ships.
        save_checkpoint(args.out, "last", state, epoch, metrics)
        if improved:
            best, best_epoch, since_best = score, epoch, 0
            save_checkpoint(args.out, "best", state, epoch, metrics)
        elif epoch > warmup_epochs:
            since_best += 1
        write_summary(
            args.out,
            args,
            finished=False,
            best_epoch=best_epoch,
            best_score=best,
            best_val_acc6=acc6(
                json.loads((args.out / "best_metrics.json").read_text())["val"][
                    next(iter(val_sets))
                ]
            ),
            first_val_set=next(iter(val_sets)),
            epochs_run=epoch,
            train_minutes=round((time.monotonic() - t_train) / 60, 1),
            params=n_params,
            widths=widths,
            convs=convs,
            teachers=teacher_info,
            data=data_info,
        )
        if frac >= 1.0:
            log.info("schedule done (time budget %.0f min)", args.time_budget)
            break
        if since_best >= args.patience:
            log.info("early stop: no gain for %d epochs", args.patience)
            break
        elapsed = (time.monotonic() - t_train) / 60
        if args.max_minutes and elapsed + row[1] / 60 > args.max_minutes:
            log.info("time cap: %.1f min used of %.1f", elapsed, args.max_minutes)
            break
    minutes = (time.monotonic() - t_train) / 60
    summary = json.loads((args.out / "summary.json").read_text())
    summary["finished"] = True
    summary["train_minutes"] = round(minutes, 1)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    log.info("done: best %s %.4f at epoch %d, %.1f min", args.select, best, best_epoch, minutes)
    return 0


def save_checkpoint(out: Path, tag: str, state: dict, epoch: int, metrics: dict) -> None:
    """<tag>.pt, <tag>_weights.npz (for the torch-free export) and <tag>_metrics.json."""
    import torch

    torch.save(state, out / f"{tag}.pt.tmp")
    (out / f"{tag}.pt.tmp").replace(out / f"{tag}.pt")
    np.savez(out / f"{tag}_weights.tmp.npz", **{k: v.numpy() for k, v in state.items()})
    (out / f"{tag}_weights.tmp.npz").replace(out / f"{tag}_weights.npz")
    (out / f"{tag}_metrics.json").write_text(json.dumps({"epoch": epoch, "val": metrics}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
