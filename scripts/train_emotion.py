#!/usr/bin/env python3
"""Train the kiosk's compact emotion CNN on a folder in FER2013 layout (PyTorch; CPU or CUDA).

    python scripts/train_emotion.py --data ../shared/data/fer2013/train \
        --val ../shared/data/fer2013/validation --out runs/emotion

The defaults train the shipped student net on its own (about 80 s an epoch on 2 CPU cores,
so 80 epochs fit in about 2 hours). With --teacher RUN [RUN ...] it is distilled from larger
nets trained by this same script (scripts/train_emotion_recipe.sh is the shipped recipe).

Writes to OUT: train.log, history.csv, best.pt (PyTorch state dict of the epoch with the best
6-class validation accuracy), best_weights.npz (the same weights as plain arrays, which
scripts/emotion_export.py turns into TFLite without needing torch) and summary.json.
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
from emotion_common import LABELS, load_folder, report, resize

log = logging.getLogger("emotion")
PCT_START = 0.25  # share of the one-cycle schedule spent warming up


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--data", type=Path, required=True, help="training folder, one subfolder per label"
    )
    p.add_argument("--val", type=Path, required=True, help="validation folder (model selection)")
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


def predict(model, x_u8: np.ndarray, device, batch: int = 512) -> np.ndarray:
    import torch

    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x_u8), batch):
            xb = torch.from_numpy(x_u8[i : i + batch]).to(device).float().div_(255).unsqueeze(1)
            outs.append(torch.softmax(model(xb), dim=1).cpu().numpy())
    return np.concatenate(outs)


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
        "labels": LABELS,
        "args": {k: str(v) for k, v in vars(args).items()},
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "versions": versions(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(), logging.FileHandler(args.out / "train.log")],
    )
    import torch
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    log.info("args %s", vars(args))

    t0 = time.monotonic()
    tag = f"limit{args.limit}" if args.limit else "all"
    cache = args.out.parent / "cache"
    x_tr, y_tr = load_folder(args.data, args.limit, cache / f"train_{tag}.npz")
    x_va, y_va = load_folder(args.val, 0, cache / "val_all.npz")
    x_tr, x_va = resize(x_tr, args.input_size), resize(x_va, args.input_size)
    counts = np.bincount(y_tr, minlength=len(LABELS))
    log.info(
        "train %d images %s, val %d, loaded in %.1f s",
        len(x_tr),
        dict(zip(LABELS, counts.tolist(), strict=True)),
        len(x_va),
        time.monotonic() - t0,
    )

    weights = (counts.max() / np.maximum(counts, 1)) ** args.class_weight_power
    weights = weights / (weights * counts).sum() * counts.sum()  # mean weight per image = 1
    log.info("class weights %s", dict(zip(LABELS, np.round(weights, 3).tolist(), strict=True)))

    widths = [int(w) for w in args.widths.split(",")]
    convs = [int(n) for n in args.convs.split(",")]
    model = build_model(widths, convs, args.dropout).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model %s, %d parameters, device %s", widths, n_params, device)

    steps = math.ceil(len(x_tr) / args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps, pct_start=PCT_START
    )
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(weights, dtype=torch.float32, device=device),
        label_smoothing=args.label_smoothing,
    )
    gen = torch.Generator(device=device).manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    # The whole set is 28k x 44 x 44 bytes: keeping it where the model runs saves a host copy
    # per batch, which is most of the step time on a GPU.
    amp = args.amp and device.type == "cuda"
    x_tr_dev = torch.from_numpy(x_tr).to(device)
    y_tr_dev = torch.from_numpy(y_tr).to(device)
    teachers: list = []
    teacher_info: list[dict] = []
    for run in args.teacher or []:
        net, size, info = load_teacher(run, device)
        t_acc = report(predict(net, resize(x_va, size), device), y_va)
        log.info(
            "teacher %s (%s, %d px): val 7cls %.3f 6cls %.3f 4cls %.3f",
            run,
            info["widths"],
            size,
            t_acc["7"]["accuracy"],
            t_acc["6"]["accuracy"],
            t_acc["4"]["accuracy"],
        )
        teachers.append((net, size))
        teacher_info.append(
            {
                "run": str(run),
                "widths": info["widths"],
                "convs": info["convs"],
                "input_size": size,
                **{f"val_acc{k}": t_acc[k]["accuracy"] for k in ("7", "6", "4")},
            }
        )
    if teachers:
        log.info("distilling: kd weight %.2f, T %.1f", args.kd_weight, args.kd_temperature)

    hist_path = args.out / "history.csv"
    fields = [
        "epoch",
        "seconds",
        "lr",
        "train_loss",
        "train_acc",
        "val_acc7",
        "val_acc6",
        "val_acc4",
    ]
    with hist_path.open("w", newline="") as fh:
        csv.writer(fh).writerow(fields)
    best, best_epoch, since_best = -1.0, 0, 0
    warmup_epochs = math.ceil(args.epochs * PCT_START)
    t_train = time.monotonic()
    for epoch in range(1, args.epochs + 1):
        t_ep = time.monotonic()
        model.train()
        order = rng.permutation(len(x_tr))
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(
            range(steps),
            desc=f"epoch {epoch}/{args.epochs}",
            mininterval=10,
            leave=False,
            file=sys.stderr,
        )
        for i in bar:
            idx = torch.from_numpy(order[i * args.batch : (i + 1) * args.batch]).to(device)
            xb = augment(x_tr_dev[idx].float().div_(255).unsqueeze(1), gen)
            yb = y_tr_dev[idx]
            with torch.autocast("cuda", torch.bfloat16, enabled=amp):
                logits = model(xb).float()
            loss = loss_fn(logits, yb)
            if teachers:
                with torch.no_grad(), torch.autocast("cuda", torch.bfloat16, enabled=amp):
                    t_logits = sum(teacher_logits(net, size, xb) for net, size in teachers)
                loss = (1 - args.kd_weight) * loss + args.kd_weight * kd_loss(
                    logits, t_logits.float() / len(teachers), args.kd_temperature
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            # Summed on the device: a float() per step would make the GPU wait for the host.
            total_loss = total_loss + loss.detach() * len(idx)
            correct = correct + (logits.argmax(1) == yb).sum()
            seen += len(idx)
            if i % 50 == 49:
                bar.set_postfix(
                    loss=f"{float(total_loss) / seen:.3f}",
                    acc=f"{int(correct) / seen:.3f}",
                    refresh=False,
                )
        bar.close()
        total_loss, correct = float(total_loss), int(correct)
        metrics = report(predict(model, x_va, device), y_va)
        acc6 = metrics["6"]["accuracy"]
        row = [
            epoch,
            round(time.monotonic() - t_ep, 1),
            f"{sched.get_last_lr()[0]:.2e}",
            round(total_loss / seen, 4),
            round(correct / seen, 4),
            round(metrics["7"]["accuracy"], 4),
            round(acc6, 4),
            round(metrics["4"]["accuracy"], 4),
        ]
        with hist_path.open("a", newline="") as fh:
            csv.writer(fh).writerow(row)
        improved = acc6 > best
        log.info(
            "epoch %d/%d %.0fs loss %.3f train %.3f | val 7cls %.3f 6cls %.3f 4cls %.3f%s",
            epoch,
            args.epochs,
            row[1],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            "  *best*" if improved else "",
        )
        if improved:
            best, best_epoch, since_best = acc6, epoch, 0
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
            torch.save(state, args.out / "best.pt")
            np.savez(args.out / "best_weights.npz", **{k: v.numpy() for k, v in state.items()})
            (args.out / "best_metrics.json").write_text(
                json.dumps({"epoch": epoch, "val": metrics}, indent=1)
            )
        elif epoch > warmup_epochs:
            # While the one-cycle rate is still rising, validation swings a lot; only
            # stagnation after the peak counts.
            since_best += 1
        write_summary(
            args.out,
            args,
            finished=False,
            best_epoch=best_epoch,
            best_val_acc6=best,
            epochs_run=epoch,
            train_minutes=round((time.monotonic() - t_train) / 60, 1),
            params=n_params,
            widths=widths,
            convs=convs,
            teachers=teacher_info,
        )
        if since_best >= args.patience:
            log.info("early stop: no gain for %d epochs", args.patience)
            break
        elapsed = (time.monotonic() - t_train) / 60
        if args.max_minutes and elapsed + row[1] / 60 > args.max_minutes:
            log.info("time cap: %.1f min used of %.1f", elapsed, args.max_minutes)
            break
    minutes = (time.monotonic() - t_train) / 60
    write_summary(
        args.out,
        args,
        finished=True,
        best_epoch=best_epoch,
        best_val_acc6=best,
        epochs_run=epoch,
        train_minutes=round(minutes, 1),
        params=n_params,
        widths=widths,
        convs=convs,
        teachers=teacher_info,
    )
    log.info("done: best 6-class %.4f at epoch %d, %.1f min", best, best_epoch, minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
