"""Mood → playlist policy: strategy table, hysteresis, dwell, schedule, override.

Pure logic: the caller passes the monotonic time, the local wall time, the window's
``MoodState`` and the set of playlists that have playable files. Nothing here sleeps,
reads files or talks to the player, so every rule is unit-tested with a fake clock.

Precedence, highest first:

1. **Manual override** (until it expires): plays the playlist of the given mood (or the
   named playlist), whatever the crowd, the dwell time or the opening hours say.
2. **Closed** (schedule): ``closed_playlist`` or silence.
3. **Crowd mood**: the strategy table maps the window's dominant mood to a playlist.
   - A switch needs the dominant mood's share ≥ ``min_confidence`` and a lead of at least
     ``hysteresis`` over the share of the mood now playing (a tie or a near tie keeps the
     music as it is).
   - After a mood-driven switch, the next one waits ``min_dwell_s``. The first switch after
     start, after an override ends and after opening is immediate.
   - "No audience" is a mood of its own: it plays ``default_playlist`` (also dwell-gated).
   - An unclear mood (audience present, confidence too low) keeps what is playing.

Whatever is chosen is then made playable: a playlist the current daypart does not allow,
or whose folder is empty or missing, is replaced by ``default_playlist``; if that cannot
play either, by what is playing now, and then by any playlist with music, so the shop is
never silent while a playable file exists. These fallbacks are not gated by dwell.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.core.api import EMOTIONS
from kiosk.mood.config import PolicyConfig
from kiosk.mood.schedule import ScheduleState, evaluate
from kiosk.mood.window import MoodState

# Reasons carried by switch events (the core.events "playlist" event and --simulate "switch").
STARTUP, MOOD, NO_AUDIENCE = "startup", "mood", "no_audience"
OVERRIDE, OVERRIDE_ENDED = "override", "override_ended"
CLOSED, OPENED = "closed", "opened"
EMPTY_PLAYLIST, DAYPART, CONFIG = "empty_playlist", "daypart", "config"


class PolicyError(ValueError):
    """A request the policy refuses (bad override); the message is for the operator."""


@dataclass(frozen=True)
class Override:
    target: str  # what the operator asked for: a mood or a playlist name
    playlist: str
    expires_at: float  # monotonic seconds
    expires_wall: float  # wall-clock seconds, for status displays

    def to_dict(self) -> dict[str, Any]:
        return {"mood": self.target, "playlist": self.playlist, "expires_at": self.expires_wall}


@dataclass(frozen=True)
class Decision:
    """What should play now."""

    playlist: str | None  # None: silence
    mood: str | None  # the crowd mood behind the choice (None: no audience / not mood-driven)
    reason: str  # why the playlist is what it is (meaningful when ``changed``)
    changed: bool  # the playlist differs from the previous decision
    previous: str | None
    volume: int | None  # a daypart just began: set this volume
    schedule: ScheduleState
    arm: dict[str, Any] | None = None  # policy.experiment: the arm drawn by this decision


class Policy:
    """Stateful decision maker. Not thread-safe: the core serialises access."""

    def __init__(self, cfg: PolicyConfig) -> None:
        self.cfg = cfg
        self.playlist: str | None = None
        self.mood: str | None = None  # mood selection in force (None: no audience)
        self.override: Override | None = None
        self._started = False
        self._mood_switch_at: float | None = None  # last mood-driven switch (monotonic)
        self._daypart: int | None = None
        self._daypart_known = False
        self._was_open: bool | None = None
        self._pending_reason: str | None = None
        self._rng = random.Random(cfg.experiment.seed)
        self._arm_playlist: str | None = None  # the drawn arm's playlist for self.mood
        self._drawn: dict[str, Any] | None = None

    def reconfigure(self, cfg: PolicyConfig) -> None:
        """Apply a new config. The next decision re-resolves the playlist and the volume."""
        self.cfg = cfg
        self._daypart_known = False
        if self.override and self.override.target in EMOTIONS:
            o = self.override
            self.override = Override(o.target, cfg.table()[o.target], o.expires_at, o.expires_wall)
        self._pending_reason = CONFIG
        self._arm_playlist = None  # the next mood decision draws again under the new rules

    # -- override ---------------------------------------------------------------------------

    def set_override(
        self,
        target: object,
        ttl_s: object,
        now: float,
        wall: float,
        available: Collection[str] | None,
    ) -> Override:
        """Validate and install an override; raise ``PolicyError`` and change nothing if bad."""
        if not isinstance(target, str) or not target.strip():
            raise PolicyError("override needs a mood or playlist name")
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)):
            raise PolicyError(f"ttl_s must be a number of seconds, got {ttl_s!r}")
        ttl = float(ttl_s)
        if not math.isfinite(ttl) or ttl <= 0 or ttl > self.cfg.override_max_ttl_s:
            raise PolicyError(
                f"ttl_s must be > 0 and <= {self.cfg.override_max_ttl_s:g} s, got {ttl_s!r}"
            )
        name = target.strip()
        known = set(self.cfg.playlist_names()) if available is None else set(available)
        if name.lower() in EMOTIONS:
            name = name.lower()
            playlist = self.cfg.table()[name]
            if playlist not in known:
                raise PolicyError(f"playlist {playlist!r} for mood {name!r} has no music")
        elif name in known:
            playlist = name
        else:
            choices = ", ".join([*EMOTIONS, *sorted(known)])
            raise PolicyError(f"unknown mood or playlist {name!r}; choose one of: {choices}")
        self.override = Override(name, playlist, now + ttl, wall + ttl)
        return self.override

    def clear_override(self) -> bool:
        """Remove the override; True if there was one."""
        had = self.override is not None
        if had:
            self._end_override()
        return had

    def _end_override(self) -> None:
        self.override = None
        self._mood_switch_at = None  # the crowd takes over at once
        self._pending_reason = OVERRIDE_ENDED

    # -- decision ---------------------------------------------------------------------------

    def decide(
        self,
        now: float,
        local: datetime,
        state: MoodState,
        available: Collection[str] | None,
    ) -> Decision:
        """Re-evaluate at monotonic ``now`` / local time ``local``; update and return."""
        sched = evaluate(self.cfg.schedule, local)
        volume = None
        if not self._daypart_known or sched.daypart != self._daypart:
            volume = sched.volume
            self._daypart, self._daypart_known = sched.daypart, True

        reason = self._pending_reason
        self._pending_reason = None
        if self.override is not None and now >= self.override.expires_at:
            self._end_override()
            reason = self._pending_reason
            self._pending_reason = None

        if self._was_open is not None and sched.open != self._was_open:
            self._mood_switch_at = None
            reason = OPENED if sched.open else CLOSED
        self._was_open = sched.open

        if self.override is not None:
            target, reason_now = self.override.playlist, OVERRIDE
            target = self._playable(target, None, available)
        elif not sched.open:
            target, reason_now = self.cfg.schedule.closed_playlist, CLOSED
            if target is not None:
                target = self._playable(target, None, available)
        else:
            mood_reason = self._follow_mood(now, state)
            wanted = self._arm_playlist or self._resolved(self.mood)
            target = self._playable(wanted, sched, available)
            if target != wanted:
                reason_now = DAYPART if not sched.allows(wanted) else EMPTY_PLAYLIST
            elif mood_reason or reason:
                reason_now = mood_reason or reason or MOOD
            else:
                reason_now = MOOD if self.mood is not None else NO_AUDIENCE

        if not self._started:
            reason_now = STARTUP
            self._started = True

        previous = self.playlist
        changed = target != previous
        self.playlist = target
        arm, self._drawn = self._drawn, None
        return Decision(target, self.mood, reason_now, changed, previous, volume, sched, arm)

    def _follow_mood(self, now: float, state: MoodState) -> str | None:
        """Update ``self.mood`` from the window; return the reason when it changed."""
        if not state.audience:
            wanted: str | None = None
        elif state.mood is None or state.confidence < self.cfg.min_confidence:
            return None  # unclear: keep what plays
        else:
            wanted = state.mood
        if wanted == self.mood:
            return None
        if wanted is not None:
            lead = state.distribution.get(wanted, 0.0) - state.distribution.get(
                self.mood or "", 0.0
            )
            if self.mood is not None and lead < self.cfg.hysteresis:
                return None
        same_music = self._resolved(wanted) == self._resolved(self.mood)
        if (
            not same_music
            and self._mood_switch_at is not None
            and now - self._mood_switch_at < self.cfg.min_dwell_s
        ):
            return None
        self.mood = wanted
        self._draw_arm(wanted)
        if not same_music:
            self._mood_switch_at = now  # only a real change of music starts the dwell
        return MOOD if wanted is not None else NO_AUDIENCE

    def _draw_arm(self, mood: str | None) -> None:
        """policy.experiment: at each mood-driven decision, the control arm with chance p."""
        exp = self.cfg.experiment
        self._arm_playlist = None
        if not exp.enabled or mood is None:
            return
        control = self._rng.random() < exp.p
        if control:
            self._arm_playlist = self.cfg.match[mood] if exp.control == "match" else self.playlist
        arm = "control" if control else "strategy"
        self._drawn = {"arm": arm, "from": self.playlist, **exp.arms(self.cfg.strategy)}

    def _resolved(self, mood: str | None) -> str:
        return self.cfg.table()[mood] if mood is not None else self.cfg.default_playlist

    def _playable(
        self,
        wanted: str,
        sched: ScheduleState | None,
        available: Collection[str] | None,
    ) -> str | None:
        """``wanted`` if it can play now, else the documented fallback chain."""

        def ok(name: str | None, strict: bool) -> bool:
            if name is None:
                return False
            if available is not None and name not in available:
                return False
            return not (strict and sched is not None and not sched.allows(name))

        for strict in (True, False):
            for name in (wanted, self.cfg.default_playlist, self.playlist):
                if ok(name, strict):
                    return name
            for name in sorted(available or ()):
                if ok(name, strict):
                    return name
        return None
