"""Interval aggregates of ``sample`` events plus a few host health readings.

Only counts and timings: no identities, boxes or images ever enter this module.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.core.api import EMOTIONS

THERMAL_DIR = Path("/sys/class/thermal")


def _read_cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields[:8]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values)
    return total - idle, total


def soc_temperature_c(thermal_dir: Path = THERMAL_DIR) -> float | None:
    """SoC temperature: the CPU/SoC zone when one is labelled so, else the first zone."""
    try:
        zones = sorted(thermal_dir.glob("thermal_zone*"))
    except OSError:
        return None
    readings: list[tuple[str, float]] = []
    for zone in zones:
        try:
            kind = (zone / "type").read_text().strip().lower()
            milli = int((zone / "temp").read_text().strip())
        except (OSError, ValueError):
            continue
        readings.append((kind, milli / 1000.0))
    for kind, temp in readings:
        if any(word in kind for word in ("cpu", "soc", "x86_pkg")):
            return round(temp, 1)
    return round(readings[0][1], 1) if readings else None


class StatsAggregator:
    """Collects ``sample`` event data; ``take`` returns one interval's aggregate and resets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cpu_prev = _read_cpu_times()
        self._started_mono = time.monotonic()
        self._reset(time.monotonic())

    def _reset(self, now_mono: float) -> None:
        self._since = now_mono
        self._samples = 0
        self._faces = 0
        self._max_faces = 0
        self._emotions = dict.fromkeys(EMOTIONS, 0)
        self._infer_total = 0.0
        self._infer_max = 0.0
        self._infer_n = 0
        self._camera_errors = 0

    def add(self, data: dict[str, Any]) -> None:
        """One ``sample`` event's data. Malformed values are skipped, never raised."""
        with self._lock:
            self._samples += 1
            faces = data.get("faces")
            if isinstance(faces, int) and not isinstance(faces, bool) and faces >= 0:
                self._faces += faces
                self._max_faces = max(self._max_faces, faces)
            emotions = data.get("emotions")
            if isinstance(emotions, dict):
                for label, count in emotions.items():
                    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                        key = str(label)[:32]
                        self._emotions[key] = self._emotions.get(key, 0) + count
            ms = data.get("inference_ms")
            if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0:
                self._infer_total += float(ms)
                self._infer_max = max(self._infer_max, float(ms))
                self._infer_n += 1
            if data.get("camera_ok") is False:
                self._camera_errors += 1

    def add_camera_error(self) -> None:
        """A camera fault event (the core reports faults apart from samples)."""
        with self._lock:
            self._camera_errors += 1

    @property
    def pending_samples(self) -> int:
        with self._lock:
            return self._samples

    def _cpu_percent(self) -> float | None:
        now = _read_cpu_times()
        prev, self._cpu_prev = self._cpu_prev, now
        if now is None or prev is None or now[1] <= prev[1]:
            return None
        return round(100.0 * (now[0] - prev[0]) / (now[1] - prev[1]), 1)

    def take(self, now_wall: float | None = None) -> dict[str, Any]:
        now_mono = time.monotonic()
        with self._lock:
            n = self._infer_n
            out: dict[str, Any] = {
                "ts": time.time() if now_wall is None else now_wall,
                "interval_s": round(now_mono - self._since, 3),
                "samples": self._samples,
                "faces": self._faces,
                "max_faces": self._max_faces,
                "emotions": dict(self._emotions),
                "inference_ms": {
                    "mean": round(self._infer_total / n, 2) if n else None,
                    "max": round(self._infer_max, 2) if n else None,
                },
                "camera_errors": self._camera_errors,
            }
            self._reset(now_mono)
        try:
            load = [round(x, 2) for x in os.getloadavg()]
        except OSError:
            load = None
        out["cpu"] = {"load": load, "percent": self._cpu_percent(), "count": os.cpu_count()}
        out["temperature_c"] = soc_temperature_c()
        out["uptime_s"] = round(now_mono - self._started_mono, 1)
        return out
