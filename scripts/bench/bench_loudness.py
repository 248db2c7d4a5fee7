"""The numpy loudness meter on real files: agreement with ffmpeg's ebur128 (and with the old
pyebur128/libebur128 meter when it is importable) and its speed next to the old one.

    .venv/bin/python scripts/bench/bench_loudness.py FOLDER [--per-dir 10]

Takes ``--per-dir`` files spread evenly over each sub-folder (so Q1..Q4 are all heard). Each
file is decoded once; both meters then get the same 2 s blocks the analyser feeds, and
only the metering is timed (best of ``--repeat``, in the same run, so the ratio is fair on a
busy machine). Short-term is compared twice: the loudest 3 s window, and every 3 s window
on the 100 ms grid (the worst per file). ffmpeg's values come from its per-100 ms metadata.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from kiosk.music_analysis.decode import open_stream
from kiosk.music_analysis.loudness import LoudnessMeter

AUDIO = {".opus", ".ogg", ".mp3", ".flac", ".wav", ".m4a"}


def pick(folder: Path, per_dir: int) -> list[Path]:
    groups: dict[Path, list[Path]] = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in AUDIO:
            groups.setdefault(p.parent, []).append(p)
    out = []
    for files in groups.values():
        step = max(1, len(files) // per_dir)
        out += files[::step][:per_dir]
    return out


def ffmpeg_ebur128(path: Path) -> tuple[float, list[float]]:
    """Integrated LUFS and the short-term value of every full 3 s window."""
    res = subprocess.run(
        ["ffmpeg", "-nostdin", "-nostats", "-i", str(path), "-af",
         "ebur128=metadata=1,ametadata=mode=print", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    integrated = float(re.findall(r"lavfi\.r128\.I=(-?[\d.]+)", res.stderr)[-1])
    short = [float(v) for v in re.findall(r"lavfi\.r128\.S=(-?[\d.]+)", res.stderr)]
    return integrated, short[29:]


def new_meter(blocks: list[np.ndarray], ch: int, sr: int, keep: bool = False) -> LoudnessMeter:
    m = LoudnessMeter(ch, sr, keep_short_term=keep)
    for b in blocks:
        m.add(b)
    return m


def old_meter(blocks: list[np.ndarray], ch: int, sr: int) -> float:
    """What the analyser did before: libebur128, integrated mode, the same blocks."""
    import pyebur128

    st = pyebur128.R128State(ch, sr, pyebur128.MeasurementMode.MODE_I)
    for b in blocks:
        st.add_frames(np.ascontiguousarray(b, dtype=np.float32).ravel(), b.shape[0])
    return pyebur128.get_loudness_global(st)


def old_short_term_max(blocks: list[np.ndarray], ch: int, sr: int) -> float:
    """libebur128's short-term loudness, polled every 100 ms (untimed)."""
    import pyebur128

    st = pyebur128.R128State(ch, sr, pyebur128.MeasurementMode.MODE_S)
    x = np.concatenate(blocks)
    seg = round(sr / 10)
    best = -math.inf
    for k in range(x.shape[0] // seg):
        piece = np.ascontiguousarray(x[k * seg : (k + 1) * seg], dtype=np.float32)
        st.add_frames(piece.ravel(), seg)
        if k >= 29:
            best = max(best, pyebur128.get_loudness_shortterm(st))
    return best


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def summary(name: str, diffs: list[float]) -> None:
    if diffs:
        print(f"{name:38s} max {max(diffs):.3f} LU   mean {statistics.fmean(diffs):.3f} LU")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--per-dir", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    try:
        import pyebur128  # noqa: F401

        have_old = True
    except ImportError:
        have_old = False
        print("pyebur128 not importable: new meter vs ffmpeg only", file=sys.stderr)
    d: dict[str, list[float]] = {}
    t_new = t_old = audio_s = 0.0
    files = pick(args.folder, args.per_dir)
    for path in files:
        st = open_stream(path)
        blocks = list(st.blocks)
        ch, sr = st.channels, st.sample_rate
        audio_s += sum(b.shape[0] for b in blocks) / sr
        ref_i, ref_s = ffmpeg_ebur128(path)
        m = new_meter(blocks, ch, sr, keep=True)
        if m.lufs is None:
            print(f"{path.name}: silent, skipped")
            continue
        ours = m.short_term_values or []
        n = min(len(ours), len(ref_s))
        d.setdefault("integrated new-ffmpeg", []).append(abs(m.lufs - ref_i))
        if m.short_term_max is not None and ref_s:
            d.setdefault("short-term max new-ffmpeg", []).append(abs(m.short_term_max - max(ref_s)))
            pairs = [(a, b) for a, b in zip(ours[:n], ref_s[:n], strict=True) if b > -70]
            d.setdefault("short-term every window new-ffmpeg", []).append(
                max(abs(a - b) for a, b in pairs)
            )
        line = f"{path.parent.name}/{path.name} {ch}ch {sr} Hz  I {m.lufs:7.2f} ff {ref_i:7.2f}"
        t_new += best_time(lambda: new_meter(blocks, ch, sr), args.repeat)  # noqa: B023
        if have_old:
            old_i = old_meter(blocks, ch, sr)
            old_s = old_short_term_max(blocks, ch, sr)
            d.setdefault("integrated old-ffmpeg", []).append(abs(old_i - ref_i))
            d.setdefault("integrated new-old", []).append(abs(m.lufs - old_i))
            if m.short_term_max is not None:
                d.setdefault("short-term max new-old", []).append(abs(m.short_term_max - old_s))
                d.setdefault("short-term max old-ffmpeg", []).append(abs(old_s - max(ref_s)))
            t_old += best_time(lambda: old_meter(blocks, ch, sr), args.repeat)  # noqa: B023
            line += f" old {old_i:7.2f}"
        print(line, flush=True)
    print(f"\n{len(d.get('integrated new-ffmpeg', []))} files, {audio_s:.0f} s of audio")
    for name, diffs in d.items():
        summary(name, diffs)
    per30 = 30.0 / audio_s * 1000 if audio_s else 0.0
    print(f"time per 30 s of audio: new {t_new * per30:.1f} ms", end="")
    if have_old and t_old:
        print(f", old {t_old * per30:.1f} ms, new/old {t_new / t_old:.2f}x")
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
