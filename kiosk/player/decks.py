"""Playback logic shared by the backends: two decks, shuffle, crossfades, skipping, recovery.

A backend only knows how to start, stop, pause, set the volume of and read the status of one
deck; everything about *what* plays *when* lives here, driven by ``poll()`` and a monotonic
clock, so the null backend and unit tests with a fake clock exercise the same code as VLC.

Its size: the two decks, the fades between them and failure recovery share one lock and one
state machine; the order and gain rules are already apart (``shuffle``, ``trajectory``,
``loudness_gain``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.library.tracks import Track
from kiosk.player.base import Clock, Fade, PlayerState
from kiosk.player.config import PlayerConfig
from kiosk.player.loudness_gain import track_gain_db
from kiosk.player.shuffle import PlayOrder

log = logging.getLogger("kiosk.player.player")

# A track that ends before its first poll without a known length under this is taken as a
# (very short) real track, not a failure.
SHORT_TRACK_S = 1.5
# Output that finishes tracks this much faster than real time is not playing to anyone.
FAST_END_RATIO = 0.4
RAMP_TICK_S = 0.05
NEXT_FADE_S = 1.0


@dataclass
class Deck:
    index: int
    track: Track | None = None
    started: float = 0.0
    confirmed: bool = False  # the track really advanced: it plays
    fade: Fade | None = None
    stopping: bool = False  # stop when the fade-out ends
    last_pos: float = -1.0
    last_move: float = 0.0
    applied: int | None = None  # volume last given to the backend
    gain_db: float = 0.0  # loudness levelling of this deck's track (kept through its fades)
    output_checked: bool = False
    extra: dict[str, object] = field(default_factory=dict)  # backend's own state


class DeckPlayer:
    """Implements the ``Player`` protocol on top of six small backend hooks."""

    backend = "base"

    def __init__(self, cfg: PlayerConfig, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.on_track: Callable[[Track], None] | None = None
        self.on_error: Callable[[str], None] | None = None
        self._clock: Clock = clock or time.monotonic
        # The ramp thread only makes sense on a clock that runs in real time (the daemon
        # passes its RealClock; simulations and tests pass clocks that stand still).
        self._real_clock = abs(self._clock() - time.monotonic()) < 1.0
        self._lock = threading.RLock()
        self._decks = [Deck(0), Deck(1)]
        self._active = 0
        self._playlist: str | None = None
        self._order: PlayOrder[Track] | None = None
        self._target = cfg.clamp(cfg.volume)
        self._paused = False
        self._errors = 0
        self._failures = 0  # in a row, reset by a track that plays
        self._fast_ends = 0
        self._bad: set[object] = set()  # paths that failed in this playlist: skipped later
        self._retry_at: float | None = None
        self._closed = False
        self._ticker: threading.Thread | None = None
        # Set by the core: (playlist, tracks) -> play order (shuffle or trajectory), and
        # track -> its analysis (lufs, peak_db) for player.loudness_target_lufs.
        self.order_factory: Callable[[str, list[Track]], PlayOrder[Track]] | None = None
        self.estimate: Callable[[Track], dict | None] | None = None

    # -- backend hooks ----------------------------------------------------------------------

    def _start(self, deck: Deck, track: Track, level: int) -> bool:
        raise NotImplementedError

    def _halt(self, deck: Deck) -> None:
        raise NotImplementedError

    def _set_level(self, deck: Deck, level: int) -> bool:
        raise NotImplementedError

    def _set_pause(self, deck: Deck, paused: bool) -> None:
        raise NotImplementedError

    def _status(self, deck: Deck) -> tuple[str, float, float]:
        """("opening"|"playing"|"ended"|"error"|"idle", position s, length s or 0)."""
        raise NotImplementedError

    def _output(self) -> str:
        return ""

    def _output_silent(self, deck: Deck) -> bool:
        """True when the track decodes but nothing reaches the audio output."""
        return False

    def _output_dead(self, now: float) -> None:
        """Nobody hears the tracks (the output failed to open, or drops them)."""

    def _release(self) -> None:
        pass

    # -- Player protocol --------------------------------------------------------------------

    def play_playlist(self, name: str, tracks: list[Track], crossfade_s: float) -> None:
        with self._lock:
            tracks = list(tracks)
            now = self._clock()
            if name == self._playlist and self._order is not None:
                if [t.path for t in tracks] != [t.path for t in self._order.items]:
                    # Same music, new files (library changed): the current track plays on.
                    log.info("playlist %s updated: %d track(s)", name, len(tracks))
                    self._order = self._new_order(name, tracks)
                    current = self._decks[self._active].track
                    if current is not None:
                        self._order.continue_after(current)
                    self._failures = 0
                    self._bad.clear()
                    self._retry_at = None  # new files deserve a try at once
                return
            old = self._decks[self._active]
            fade = max(0.0, float(crossfade_s)) if (old.track and not self._paused) else 0.0
            self._playlist, self._order = name, self._new_order(name, tracks)
            self._failures, self._retry_at, self._paused = 0, None, False
            self._bad.clear()
            self._retire(old, fade, now)
            self._retire(self._decks[1 - self._active], 0.0, now)
            if not tracks:
                self._report(f"playlist {name} has no playable files")
                return
            self._active = 1 - self._active
            log.info("playing playlist %s (%d track(s), crossfade %.1f s)", name, len(tracks), fade)
            self._play_next(now, fade)

    def next_track(self) -> None:
        with self._lock:
            if self._order is None or not len(self._order) or self._paused:
                return
            now = self._clock()
            old = self._decks[self._active]
            fade = min(NEXT_FADE_S, self.cfg.crossfade_s) if old.track else 0.0
            self._retire(self._decks[1 - self._active], 0.0, now)
            self._retire(old, fade, now)
            self._active = 1 - self._active
            self._play_next(now, fade)

    def pause(self) -> None:
        with self._lock:
            if self._paused:
                return
            self._paused = True
            now = self._clock()
            for deck in self._decks:
                if deck.stopping:
                    self._retire(deck, 0.0, now)
                elif deck.track is not None:
                    deck.fade = None  # resume at full volume
                    self._set_pause(deck, True)

    def resume(self) -> None:
        with self._lock:
            if not self._paused:
                return
            self._paused = False
            now = self._clock()
            deck = self._decks[self._active]
            if deck.track is not None:
                deck.last_move = now
                self._set_pause(deck, False)
                self._apply(deck, now, force=True)
            elif self._order is not None and len(self._order):
                self._play_next(now, 0.0)

    def set_volume(self, level: int) -> None:
        with self._lock:
            self._target = self.cfg.clamp(level)
            now = self._clock()
            for deck in self._decks:
                self._apply(deck, now)

    def stop(self, fade_s: float = 0.0) -> None:
        with self._lock:
            now = self._clock()
            active = self._decks[self._active]
            self._retire(self._decks[1 - self._active], 0.0, now)
            self._retire(active, 0.0 if self._paused else max(0.0, fade_s), now)
            self._playlist, self._order, self._paused = None, None, False
            self._retry_at, self._failures = None, 0

    def poll(self) -> None:
        with self._lock:
            if self._closed:
                return
            now = self._clock()
            self._tick(now)
            if self._paused or self._order is None or not len(self._order):
                return
            deck = self._decks[self._active]
            if deck.track is None:  # silence: all files failed, or a backend hiccup
                if self._retry_at is None or now >= self._retry_at:
                    self._retry_at = None
                    self._play_next(now, 0.0)
                return
            self._check(deck, now)

    def state(self) -> PlayerState:
        with self._lock:
            deck = self._decks[self._active]
            return PlayerState(
                playlist=self._playlist,
                track=deck.track,
                volume=self._target,
                paused=self._paused,
                playing=self._order is not None and deck.track is not None,
                errors=self._errors,
                output=self._output(),
            )

    def levels(self) -> list[tuple[Track, int]]:
        """Each sounding deck's track and momentary volume (ramps included)."""
        with self._lock:
            now = self._clock()
            return [(d.track, self._level(d, now)) for d in self._decks if d.track is not None]

    def reconfigure(self, cfg: PlayerConfig) -> None:
        """Apply a reloaded config: limits, shuffle, timings (the output needs a restart)."""
        with self._lock:
            self.cfg = cfg
            self.set_volume(self._target)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            now = self._clock()
            fades = [d.fade for d in self._decks if d.stopping and d.fade]
            wait = max((f.duration - (now - f.start) for f in fades), default=0.0)
        # A stop fade from shutdown finishes in real time, bounded by its own length.
        deadline = time.monotonic() + min(max(0.0, wait), 30.0)
        while time.monotonic() < deadline:
            time.sleep(RAMP_TICK_S)
            with self._lock:
                self._tick(self._clock())
                if not any(d.stopping for d in self._decks):
                    break
        with self._lock:
            self._closed = True
            for deck in self._decks:
                self._retire(deck, 0.0, self._clock())
            self._release()

    # -- internals (lock held) --------------------------------------------------------------

    def _new_order(self, name: str, tracks: list[Track]) -> PlayOrder[Track]:
        if self.order_factory is not None:
            try:
                return self.order_factory(name, tracks)
            except Exception:
                log.exception("play order for %s failed; shuffling", name)
        return PlayOrder(tracks, self.cfg.shuffle)

    def _gain_for(self, track: Track) -> float:
        target = getattr(self.cfg, "loudness_target_lufs", None)
        if target is None or self.estimate is None:
            return 0.0
        try:
            return track_gain_db(self.estimate(track), target)
        except Exception:
            log.exception("loudness lookup failed for %s", track.path)
            return 0.0

    def _level(self, deck: Deck, now: float) -> int:
        gain = deck.fade.gain(now) if deck.fade else 1.0
        return round(self._target * gain)

    def _apply(self, deck: Deck, now: float, force: bool = False) -> None:
        if deck.track is None:
            return
        level = self._level(deck, now)
        if force or level != deck.applied:
            deck.applied = level if self._set_level(deck, level) else None

    def _retire(self, deck: Deck, fade_s: float, now: float) -> None:
        """Fade ``deck`` out over ``fade_s`` then stop it, or stop it now."""
        if deck.track is None:
            return
        if fade_s > 0:
            gain = deck.fade.gain(now) if deck.fade else 1.0
            # Start the falling curve where the deck is now, so a fade-in cut short by
            # another switch does not jump up first.
            x0 = math.acos(max(0.0, min(1.0, gain))) * 2 / math.pi
            deck.fade = Fade(now - x0 * fade_s, fade_s, rising=False)
            deck.stopping = True
            self._ensure_ticker()
            return
        self._halt(deck)
        deck.track, deck.fade, deck.stopping, deck.applied = None, None, False, None

    def _play_next(self, now: float, fade_s: float) -> None:
        assert self._order is not None
        deck = self._decks[self._active]
        if deck.track is not None:
            self._halt(deck)
        track = self._order.next()
        for _ in range(len(self._order)):  # files that failed before come last
            if track.path not in self._bad:
                break
            track = self._order.next()
        deck.track, deck.started, deck.confirmed, deck.stopping = track, now, False, False
        deck.last_pos, deck.last_move, deck.applied = -1.0, now, None
        deck.output_checked = False
        deck.gain_db = self._gain_for(track)
        deck.fade = Fade(now, fade_s, rising=True) if fade_s > 0 else None
        level = self._level(deck, now)
        if not self._start(deck, track, level):
            self._fail(deck, now, "the player cannot open it")
            return
        deck.applied = level
        if deck.fade:
            self._ensure_ticker()

    def _tick(self, now: float) -> None:
        for deck in self._decks:
            if deck.fade is not None and deck.fade.done(now):
                if deck.stopping:
                    self._retire(deck, 0.0, now)
                    continue
                deck.fade = None
            self._apply(deck, now)

    def _check(self, deck: Deck, now: float) -> None:
        assert deck.track is not None
        status, pos, length = self._status(deck)
        if status == "playing":
            if pos != deck.last_pos:
                deck.last_pos, deck.last_move = pos, now
            if not deck.confirmed and pos > 0:
                deck.confirmed = True
                self._failures = 0
                self._apply(deck, now, force=True)  # some outputs drop a volume set early
                log.info("now playing %s", deck.track.path)
                if self.on_track is not None:
                    try:
                        self.on_track(deck.track)
                    except Exception:
                        log.exception("on_track callback failed")
            elif now - deck.last_move > self.cfg.stall_s:
                self._fail(deck, now, f"playback stalled for {self.cfg.stall_s:.0f} s")
            elif deck.confirmed and pos >= 1.0 and not deck.output_checked:
                deck.output_checked = True
                if self._output_silent(deck):
                    self._output_dead(now)
        elif status == "ended":
            known = length or deck.track.duration_s or 0.0
            if not deck.confirmed and not (0 < known <= SHORT_TRACK_S):
                self._fail(deck, now, "it ended without playing (damaged or not audio)")
                return
            self._watch_speed(known, now - deck.started, now)
            self._play_next(now, 0.0)
        elif status == "error":
            self._fail(deck, now, "the decoder failed (damaged or unsupported file)")
        elif now - deck.started > self.cfg.stall_s:
            self._fail(deck, now, f"it did not start within {self.cfg.stall_s:.0f} s")

    def _watch_speed(self, length: float, wall: float, now: float) -> None:
        if length < 4.0:  # only tracks of some length tell
            return
        self._fast_ends = self._fast_ends + 1 if wall < FAST_END_RATIO * length else 0
        if self._fast_ends >= 2:
            self._fast_ends = 0
            self._output_dead(now)

    def _fail(self, deck: Deck, now: float, why: str) -> None:
        track = deck.track
        self._halt(deck)
        deck.track, deck.fade, deck.stopping, deck.applied = None, None, False, None
        self._errors += 1
        self._failures += 1
        if track is not None:
            self._bad.add(track.path)
        name = track.path.name if track else "?"
        log.warning("skipping %s: %s", track.path if track else "?", why)
        self._report(f"skipped {name}: {why}")
        assert self._order is not None
        if self._failures >= len(self._order) or len(self._bad) >= len(self._order):
            self._failures = 0
            self._bad.clear()  # files may be fixed by then: all get another chance
            self._retry_at = now + self.cfg.retry_failed_s
            self._report(
                f"no file of playlist {self._playlist} plays ({len(self._order)} tried); "
                f"trying again in {self.cfg.retry_failed_s:.0f} s"
            )
            return
        self._play_next(now, 0.0)

    def _report(self, message: str) -> None:
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:
                log.exception("on_error callback failed")

    def _ensure_ticker(self) -> None:
        # poll() alone would step a 3 s crossfade in six audible jumps; with the real clock a
        # short-lived thread smooths ramps (it only sets volumes and ends with the last ramp).
        if not self._real_clock or (self._ticker and self._ticker.is_alive()):
            return
        self._ticker = threading.Thread(target=self._ramp_loop, name="kiosk-ramps", daemon=True)
        self._ticker.start()

    def _ramp_loop(self) -> None:
        while True:
            time.sleep(RAMP_TICK_S)
            with self._lock:
                if self._closed or not any(d.fade for d in self._decks):
                    return
                self._tick(self._clock())
