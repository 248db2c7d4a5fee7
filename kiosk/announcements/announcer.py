"""Announcements: recorded messages over ducked music, every N tracks or at set times.

``Schedule`` is pure (counts tracks, watches the clock) so the tests drive it with a fake
time. ``MessageAnnouncer`` plays one message at a time on its own worker thread: it ramps the
music down to ``duck_volume`` percent, plays the message on its own voice player, then
ramps the music back. The core's track listener and the daemon's poll only enqueue; a
timed message that falls while the shop is closed is dropped, never played late.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.announcements.config import DAYS, AnnouncementRule, AnnouncementsConfig
from kiosk.announcements.voice import Voice
from kiosk.library.names import AUDIO_EXTENSIONS

log = logging.getLogger(__name__)

RAMP_TICK_S = 0.05
LATE_S = 120.0  # a timed message may start this late (a slow poll), never later


@dataclass
class Schedule:
    rules: list[AnnouncementRule]
    resolve: Any = Path  # config path -> Path
    _tracks: dict[int, int] = field(default_factory=dict)
    _fired: set[tuple[int, str, str]] = field(default_factory=set)
    _turn: dict[int, int] = field(default_factory=dict)

    def on_track(self) -> list[int]:
        """A new track began: the rules now due (by index)."""
        due = []
        for i, rule in enumerate(self.rules):
            if rule.every_tracks:
                self._tracks[i] = self._tracks.get(i, 0) + 1
                if self._tracks[i] >= rule.every_tracks:
                    self._tracks[i] = 0
                    due.append(i)
        return due

    def timed(self, now: datetime, is_open: bool) -> list[int]:
        """Timed rules whose time came (within ``LATE_S``); dropped while closed."""
        due = []
        day = DAYS[now.weekday()]
        for i, rule in enumerate(self.rules):
            if not rule.at or day not in rule.days:
                continue
            for at in rule.at:
                hh, mm = (int(x) for x in at.split(":"))
                start = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
                late = (now - start).total_seconds()
                key = (i, now.date().isoformat(), at)
                if 0 <= late < LATE_S and key not in self._fired:
                    self._fired.add(key)
                    if is_open:
                        due.append(i)
                    else:
                        log.info("announcement at %s dropped: the shop is closed", at)
        if len(self._fired) > 1000:  # yesterday's keys are of no use
            today = now.date().isoformat()
            self._fired = {k for k in self._fired if k[1] == today}
        return due

    def files(self, i: int) -> list[Path]:
        folder = Path(self.resolve(self.rules[i].folder))
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return []
        return [
            folder / n
            for n in names
            if not n.startswith(".") and n.lower().endswith(AUDIO_EXTENSIONS)
            and (folder / n).is_file()
        ]  # fmt: skip

    def next_file(self, i: int) -> Path | None:
        """The rule's messages take turns in name order."""
        files = self.files(i)
        if not files:
            log.warning("announcement folder %s has no audio files", self.rules[i].folder)
            return None
        turn = self._turn.get(i, 0) % len(files)
        self._turn[i] = turn + 1
        return files[turn]


class MessageAnnouncer:
    """One message at a time, over the ducked music of ``player``."""

    def __init__(
        self, cfg: AnnouncementsConfig, player: Any, voice: Voice, resolve: Any = Path
    ) -> None:
        self.cfg = cfg
        self.player = player
        self.voice = voice
        self.schedule = Schedule(cfg.rules, resolve)
        self._resolve = resolve
        # A rule index (the worker picks its next file) or a file path; None ends the worker.
        self._queue: queue.SimpleQueue[int | Path | None] = queue.SimpleQueue()
        self._busy = threading.Event()
        self.played: list[Path] = []
        self._thread = threading.Thread(target=self._work, name="kiosk-announce", daemon=True)
        self._thread.start()

    # -- triggers (any thread; they only enqueue) -------------------------------------------

    def on_track(self, _event: Any = None) -> None:
        for i in self.schedule.on_track():
            self._enqueue_rule(i)

    def poll(self, now: datetime, is_open: bool) -> None:
        for i in self.schedule.timed(now, is_open):
            self._enqueue_rule(i)

    def _enqueue_rule(self, i: int) -> None:
        if self._busy.is_set():
            log.info("announcement skipped: another one is playing")
            return
        self._busy.set()
        self._queue.put(i)

    def announce(self, file: str) -> Path:
        """Play ``file`` now (a name in, or a path under, one of the rule folders)."""
        path = self.find(file)
        if self._busy.is_set():
            raise ValueError("an announcement is playing; try again when it ends")
        self._busy.set()
        self._queue.put(path)
        return path

    def find(self, file: str) -> Path:
        folders = [Path(os.path.realpath(self._resolve(r.folder))) for r in self.cfg.rules]
        if not folders:
            raise ValueError("no announcement folders are configured (announcements.rules)")
        candidates = [Path(file)] if os.path.isabs(file) else [f / file for f in folders]
        for c in candidates:
            real = Path(os.path.realpath(c))
            inside = any(real.is_relative_to(f) for f in folders)
            if inside and real.is_file() and real.name.lower().endswith(AUDIO_EXTENSIONS):
                return real
        raise ValueError(f"no audio file {file!r} in the announcement folders")

    def busy(self) -> bool:
        return self._busy.is_set()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self.cfg.duck_ramp_s * 2 + 2)
        self.voice.close()

    # -- worker -----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                path = self.schedule.next_file(item) if isinstance(item, int) else item
                if path is not None:
                    self._play(path)
            except Exception:  # a bad file or a player hiccup must not end announcements
                log.exception("announcement %s failed", path)
            finally:
                self._busy.clear()

    def _ramp(self, start: int, end: int) -> None:
        steps = max(1, int(self.cfg.duck_ramp_s / RAMP_TICK_S))
        for k in range(1, steps + 1):
            self.player.set_volume(round(start + (end - start) * k / steps))
            if steps > 1:
                time.sleep(RAMP_TICK_S)

    def _play(self, path: Path) -> None:
        normal = int(self.player.state().volume)
        ducked = round(normal * self.cfg.duck_volume / 100)
        log.info("announcement %s (music %d -> %d)", path.name, normal, ducked)
        self._ramp(normal, ducked)
        lowered = int(self.player.state().volume)  # the player's limits may keep it higher
        try:
            if not self.voice.play(path, normal):
                log.warning("announcement %s cannot be played", path)
                return
            self.played.append(path)
            deadline = time.monotonic() + self.cfg.max_message_s
            while self.voice.status() == "playing" and time.monotonic() < deadline:
                time.sleep(0.05)
            self.voice.stop()
        finally:
            now = int(self.player.state().volume)
            if now == lowered:  # nobody changed the volume meanwhile: bring the music back
                self._ramp(lowered, normal)
