#!/usr/bin/env python3
"""Steady-state CPU and memory of ``kiosk run`` on the demo scene.

Runs the real daemon (demo camera, generated demo music, one sample every ``--interval``
seconds, VLC or the null player) for ``--minutes``, skips ``--warmup`` seconds, then reads
the process's CPU time and RSS from /proc. Prints one JSON object.

Baseline, measured in the same run: the vision pipeline alone on the same demo frames in
this process, i.e. the CPU the detector + classifier must cost at this sampling rate. The
ratio ``cpu_vs_vision`` is how much the whole daemon (camera frames, window, policy,
player, VLC decoding) costs relative to that floor.

    python scripts/bench/bench_run.py --minutes 3 --player vlc

``--analysis-compare`` does the same with ``music.analysis`` off and on (the demo library
plus copies in ``music/unsorted/``), measured after the analysis went idle.

``--history-compare`` instead runs two daemons side by side over the same minutes, one
with ``history.enabled: false`` and one with it on (writing its SQLite file), and reports
the CPU and RSS of each and their ratio: both see the same machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime (all threads)


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def vision_baseline(interval_s: float, frames: int = 32) -> dict:
    """CPU % of one core that the vision pipeline alone needs at this sampling interval.

    The demo camera's own cost (composing a frame in memory) is reported separately: a
    real camera hands over a frame for a fraction of that.
    """
    from kiosk.camera.demo import DemoCamera
    from kiosk.config import load_config
    from kiosk.vision.pipeline import Pipeline

    loaded = load_config(None)
    pipe = Pipeline.from_config(loaded)
    cam = DemoCamera(loaded.config.camera.width, loaded.config.camera.height, loop=True)
    images, reads = [], []
    for _ in range(frames):
        t0 = time.process_time()
        images.append(cam.read())
        reads.append(time.process_time() - t0)
    pipe.process(images[0])  # warm up
    cost = []
    for img in images:
        t0 = time.process_time()
        pipe.process(img)
        cost.append(time.process_time() - t0)
    per_sample = statistics.mean(cost)
    per_frame = statistics.mean(reads)
    return {
        "demo_camera_ms_per_frame": round(per_frame * 1000, 2),
        "demo_camera_cpu_percent": round(100 * per_frame / interval_s, 3),
        "vision_ms_per_sample": round(per_sample * 1000, 2),
        "vision_cpu_percent": round(100 * per_sample / interval_s, 3),
    }


def camera_yaml(tmp: Path, camera: str, interval_s: float) -> str:
    """demo: frames composed in memory each sample. folder: the same demo scene rendered
    once to JPEG files, so a sample costs a JPEG decode like a real camera's frame."""
    if camera == "demo":
        return f"camera:\n  backend: demo\n  interval_s: {interval_s}\n"
    import cv2

    from kiosk.camera.demo import SCRIPT, DemoCamera

    frames = tmp / "frames"
    frames.mkdir()
    cam = DemoCamera(loop=False)
    for i in range(sum(n for n, _ in SCRIPT)):
        cv2.imwrite(str(frames / f"{i:03d}.jpg"), cam.read(), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return (
        f"camera:\n  backend: folder\n  source: {frames}\n  loop: true\n"
        f"  interval_s: {interval_s}\n"
    )


def write_config(
    tmp: Path, interval_s: float, player: str, camera: str, extra: str = "", music_extra: str = ""
) -> Path:
    from kiosk.config import load_config
    from kiosk.library.demo import ensure_demo_library

    music = tmp / "music"
    music.mkdir()
    ensure_demo_library(music, load_config(None).config.policy.playlist_names())
    cfg = tmp / "config.yaml"
    cfg.write_text(
        camera_yaml(tmp, camera, interval_s)
        + f"music:\n  root: {music}\n"
        + music_extra
        + f"player:\n  backend: {json.dumps(player)}\n"
        + f"vision:\n  detector:\n    model: {ROOT}/models/face_detection_full_range.tflite\n"
        + f"  classifier:\n    model: {ROOT}/models/fer_emotion_quantized.tflite\n"
        + extra
    )
    return cfg


def vlc_plugin_cache() -> bool:
    """Whether libvlc finds plugins.dat (libvlc-bin's vlc-cache-gen). Without it, every
    libvlc instance dlopens all ~570 plugins: ~40 MB more RSS and a slower start."""
    env = os.environ.get("VLC_PLUGIN_PATH")
    dirs = [Path(env)] if env else list(Path("/usr/lib").glob("*/vlc/plugins"))
    return any((d / "plugins.dat").is_file() for d in dirs)


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp_s:
        tmp = Path(tmp_s)
        cfg = write_config(tmp, args.interval, args.player, args.camera)
        log_path = tmp / "stderr.log"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "XDG_STATE_HOME": str(tmp)}
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kiosk",
                    "run",
                    "--config",
                    str(cfg),
                    "--log-format",
                    "json",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                cwd=tmp,
            )
        try:
            first = None
            deadline = time.monotonic() + 60
            while first is None and time.monotonic() < deadline and proc.poll() is None:
                text = log_path.read_text()
                m = re.search(r'\{[^\n]*"msg": "first sample"[^\n]*\}', text)
                if m:
                    first = json.loads(m.group(0))
                time.sleep(0.1)
            if first is None:
                raise SystemExit(f"no first sample; log:\n{log_path.read_text()[-3000:]}")
            time.sleep(args.warmup)
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            rss = []
            end = t0 + args.minutes * 60
            while time.monotonic() < end:
                if proc.poll() is not None:
                    raise SystemExit(f"kiosk run died; log:\n{log_path.read_text()[-3000:]}")
                rss.append(rss_mb(proc.pid))
                time.sleep(1.0)
            c1, t1 = cpu_seconds(proc.pid), time.monotonic()
            t_stop = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            stop_s = time.monotonic() - t_stop
        finally:
            if proc.poll() is None:
                proc.kill()
        errors = [ln for ln in log_path.read_text().splitlines() if '"level": "error"' in ln]
    cpu = 100 * (c1 - c0) / (t1 - t0)
    return {
        "player": args.player,
        "camera": args.camera,
        "vlc_plugin_cache": vlc_plugin_cache(),
        "interval_s": args.interval,
        "measured_s": round(t1 - t0, 1),
        "first_sample_s": first.get("since_process_start_s"),
        "cpu_percent_one_core": round(cpu, 3),
        "rss_mb_mean": round(statistics.mean(rss), 1),
        "rss_mb_max": round(max(rss), 1),
        "exit_code": rc,
        "stop_s": round(stop_s, 2),
        "error_lines": len(errors),
    }


def _start(cfg: Path, tmp: Path) -> tuple[subprocess.Popen, Path]:
    log_path = tmp / "stderr.log"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "XDG_STATE_HOME": str(tmp)}
    cmd = [sys.executable, "-m", "kiosk", "run", "--config", str(cfg), "--log-format", "json"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=tmp)
    return proc, log_path


def _wait_first_sample(runs: dict, deadline: float) -> None:
    """Every daemon of ``runs`` ({name: (proc, log, dir)}) has taken its first sample."""
    for proc, log_path, _ in runs.values():
        while '"msg": "first sample"' not in log_path.read_text():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"no first sample:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)


def _measure_side_by_side(runs: dict, args: argparse.Namespace) -> tuple:
    """After the warm-up, CPU % and RSS of each daemon over the same window, then stop them.
    Returns (elapsed_s, {name: cpu %}, {name: [rss MB]}, {name: exit code})."""
    time.sleep(args.warmup)
    c0 = {k: cpu_seconds(r[0].pid) for k, r in runs.items()}
    rss: dict[str, list[float]] = {k: [] for k in runs}
    t0 = time.monotonic()
    while time.monotonic() < t0 + args.minutes * 60:
        for k, r in runs.items():
            if r[0].poll() is not None:
                raise SystemExit(f"kiosk run ({k}) died:\n{r[1].read_text()[-3000:]}")
            rss[k].append(rss_mb(r[0].pid))
        time.sleep(1.0)
    elapsed = time.monotonic() - t0
    cpu = {k: 100 * (cpu_seconds(r[0].pid) - c0[k]) / elapsed for k, r in runs.items()}
    for proc, _, _ in runs.values():
        proc.send_signal(signal.SIGTERM)
    codes = {k: r[0].wait(timeout=30) for k, r in runs.items()}
    return elapsed, cpu, rss, codes


def compare_history(args: argparse.Namespace) -> dict:
    """History off and on, two daemons measured over the same window."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp_s:
        runs = {}
        for name in ("off", "on"):
            tmp = Path(tmp_s) / name
            tmp.mkdir()
            extra = f"history:\n  enabled: {'true' if name == 'on' else 'false'}\n"
            extra += "  commit_s: 15\n" if name == "on" else ""
            cfg = write_config(tmp, args.interval, args.player, args.camera, extra)
            runs[name] = (*_start(cfg, tmp), tmp)
        try:
            deadline = time.monotonic() + 90
            _wait_first_sample(runs, deadline)
            elapsed, cpu, rss, codes = _measure_side_by_side(runs, args)
            db = runs["on"][2] / "kiosk" / "history.sqlite3"
            size_kb = round(db.stat().st_size / 1024, 1) if db.exists() else None
        finally:
            for proc, _, _ in runs.values():
                if proc.poll() is None:
                    proc.kill()
    return {
        "player": args.player,
        "camera": args.camera,
        "interval_s": args.interval,
        "measured_s": round(elapsed, 1),
        "cpu_percent_history_off": round(cpu["off"], 3),
        "cpu_percent_history_on": round(cpu["on"], 3),
        "cpu_on_vs_off": round(cpu["on"] / max(cpu["off"], 1e-9), 3),
        "rss_mb_max_off": round(max(rss["off"]), 1),
        "rss_mb_max_on": round(max(rss["on"]), 1),
        "history_file_kb": size_kb,
        "exit_codes": codes,
    }


def compare_analysis(args: argparse.Namespace) -> dict:
    """music.analysis off and on, two daemons over the same window, after the analysis of
    the demo library (plus copies of it in music/unsorted/) has finished: idle cost."""
    import shutil

    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp_s:
        runs = {}
        for name in ("off", "on"):
            tmp = Path(tmp_s) / name
            tmp.mkdir()
            flag = f"  analysis: {'true' if name == 'on' else 'false'}\n"
            cfg = write_config(tmp, args.interval, args.player, args.camera, "", flag)
            unsorted = tmp / "music" / "unsorted"
            unsorted.mkdir()
            for i, f in enumerate(sorted((tmp / "music").glob("*/*.*"))):
                if f.parent != unsorted:
                    shutil.copy(f, unsorted / f"{i:02d}{f.suffix}")
            runs[name] = (*_start(cfg, tmp), tmp)
        try:
            deadline = time.monotonic() + 90
            _wait_first_sample(runs, deadline)
            on_log = runs["on"][1]
            while "music analysis idle" not in on_log.read_text():
                if time.monotonic() > deadline + 120:
                    raise SystemExit(f"analysis never went idle:\n{on_log.read_text()[-3000:]}")
                time.sleep(0.2)
            analysed_s = round(time.monotonic() - deadline + 90, 1)
            elapsed, cpu, rss, codes = _measure_side_by_side(runs, args)
            tracks = len(list((runs["on"][2] / "music").glob("*/*.*")))
        finally:
            for proc, _, _ in runs.values():
                if proc.poll() is None:
                    proc.kill()
    return {
        "player": args.player,
        "camera": args.camera,
        "interval_s": args.interval,
        "tracks": tracks,
        "analysis_idle_after_s": analysed_s,
        "measured_s": round(elapsed, 1),
        "cpu_percent_analysis_off": round(cpu["off"], 3),
        "cpu_percent_analysis_on": round(cpu["on"], 3),
        "cpu_on_vs_off": round(cpu["on"] / max(cpu["off"], 1e-9), 3),
        "rss_mb_max_off": round(max(rss["off"]), 1),
        "rss_mb_max_on": round(max(rss["on"]), 1),
        "rss_on_vs_off": round(max(rss["on"]) / max(max(rss["off"]), 1e-9), 3),
        "exit_codes": codes,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--warmup", type=float, default=20.0, help="seconds skipped after start")
    p.add_argument("--interval", type=float, default=2.0, help="camera.interval_s")
    p.add_argument("--player", default="vlc", help="player backend (vlc or null)")
    p.add_argument(
        "--camera",
        choices=("demo", "folder"),
        default="demo",
        help="demo: composed in memory per sample; folder: the demo scene as JPEG files",
    )
    p.add_argument(
        "--history-compare",
        action="store_true",
        help="two daemons side by side, history off and on: their CPU ratio",
    )
    p.add_argument(
        "--analysis-compare",
        action="store_true",
        help="two daemons side by side, music.analysis off and on: idle CPU/RSS ratio",
    )
    args = p.parse_args()
    if args.analysis_compare:
        result = compare_analysis(args)
        print(json.dumps(result, indent=2))
        return 0 if all(c == 0 for c in result["exit_codes"].values()) else 1
    if args.history_compare:
        result = compare_history(args)
        print(json.dumps(result, indent=2))
        return 0 if all(c == 0 for c in result["exit_codes"].values()) else 1
    result = run(args)
    base = vision_baseline(args.interval)
    result.update(base)
    result["cpu_vs_vision"] = round(
        result["cpu_percent_one_core"] / max(base["vision_cpu_percent"], 1e-9), 2
    )
    result["goal"] = {"cpu_percent_one_core": 2.0, "rss_mb": 150, "first_sample_s": 3.0}
    result["ok"] = bool(
        result["cpu_percent_one_core"] <= 2.0
        and result["rss_mb_max"] <= 150
        and (result["first_sample_s"] or 99) <= 3.0
        and result["exit_code"] == 0
    )
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
