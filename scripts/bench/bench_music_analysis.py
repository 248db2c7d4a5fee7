"""CPU cost of `kiosk music analyze` (decode + loudness + mood), per clip and per audio minute.

    .venv/bin/python scripts/bench/bench_music_analysis.py [FOLDER_OR_FILES...] [--limit 100]

Without arguments it synthesises its own audio (a 30 s mono Opus clip and a 4-minute stereo
44.1 kHz MP3, via ffmpeg), so it runs on any clone. Process CPU time (all threads) is the
measure; start-up (imports, model load) is reported apart. No cache is used.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T_START = time.process_time()
W_START = time.perf_counter()


def synth(folder: Path) -> list[Path]:
    import numpy as np
    import soundfile as sf

    sr = 44100
    t = np.arange(sr * 240) / sr
    x = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 277 * t)
    x += 0.3 * (np.sin(2 * np.pi * 2 * t) > 0.95) * np.random.default_rng(0).standard_normal(t.size)
    wav = folder / "src.wav"
    sf.write(str(wav), np.stack([x, x[::-1]], axis=1).astype(np.float32), sr)
    out = []
    for name, args, dur in (
        ("clip30.opus", ["-t", "30", "-ac", "1", "-b:a", "32k"], 30),
        ("track4min.mp3", ["-b:a", "192k"], 240),
    ):
        p = folder / name
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), *args, str(p)], check=True)
        out.append(p)
        del dur
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from kiosk.music_analysis.mood_model import MoodModel
    from kiosk.music_analysis.service import Analyzer, expand

    analyzer = Analyzer(None)
    MoodModel.load()
    startup_cpu = time.process_time() - T_START
    tmp = None
    if args.paths:
        files = expand(args.paths)[: args.limit]
    else:
        tmp = tempfile.TemporaryDirectory()
        files = synth(Path(tmp.name))
    rows = []
    for p in files:
        c0, w0 = time.process_time(), time.perf_counter()
        r = analyzer.analyse_path(p)
        rows.append((p.name, r.get("duration_s") or 0.0, time.process_time() - c0,
                     time.perf_counter() - w0, "error" in r))  # fmt: skip
    ok = [r for r in rows if not r[4]]
    audio_min = sum(r[1] for r in ok) / 60
    cpu = sum(r[2] for r in ok)
    result = {
        "files": len(rows),
        "failed": len(rows) - len(ok),
        "startup_cpu_s": round(startup_cpu, 3),
        "cpu_ms_per_file": round(1000 * cpu / max(1, len(ok)), 1),
        "cpu_s_per_audio_min": round(cpu / max(audio_min, 1e-9), 3),
        "per_file": [
            {"file": n, "duration_s": d, "cpu_ms": round(1000 * c, 1)} for n, d, c, _, _ in rows
        ][:10],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
