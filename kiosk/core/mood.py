"""Mood: the crowd's samples, the camera's health, the override and the playlist decision.

A controller of ``kiosk.core.core.Core``: it owns the mood window and the policy, and
turns each decision into player actions through the playback controller. Public methods
take the core's lock; ``decide`` and ``expire`` are called with it held.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kiosk.camera.base import redact
from kiosk.core.api import CommandError
from kiosk.mood.policy import Decision, Policy, PolicyError
from kiosk.mood.window import EMPTY, FaceLike, MoodState, MoodWindow
from kiosk.service.logs import fields

if TYPE_CHECKING:
    from kiosk.core.core import Core

log = logging.getLogger("kiosk.core.core")


class MoodController:
    def __init__(self, core: Core) -> None:
        self.core = core
        cfg = core.loaded.config
        self.window = MoodWindow(cfg.mood)
        self.policy = Policy(cfg.policy)
        self.state: MoodState = EMPTY
        self.camera: dict[str, Any] = {"ok": True, "error": None, "since": core.clock.time()}

    def reconfigure(self, cfg: Any) -> None:
        self.window.reconfigure(cfg.mood)
        self.policy.reconfigure(cfg.policy)

    # -- the daemon loop --------------------------------------------------------------------

    def add_sample(self, faces: Sequence[FaceLike], inference_ms: float = 0.0) -> MoodState:
        """Feed one sample's faces (``Face`` objects of the vision pipeline)."""
        core = self.core
        with core._locked():
            state = self.window.add(core.clock.monotonic(), faces)
            self.state = state
            # The stats count the faces the mood counts; the rest are reported apart so a
            # badly placed camera shows up.
            kept = self.window.counted(faces)
            emotions: dict[str, int] = {}
            for f in kept:
                label = getattr(f, "emotion", None) or max(f.scores, key=f.scores.get)
                emotions[label] = emotions.get(label, 0) + 1
            core._emit(
                "sample",
                {
                    "faces": len(kept),
                    "faces_ignored": len(faces) - len(kept),
                    "emotions": emotions,
                    "inference_ms": round(inference_ms, 2),
                    "camera_ok": True,
                },
            )
            core._emit("mood", state.to_event())
            self.decide(state)
            return state

    def camera_fault(self, message: str) -> None:
        """The camera failed; the music goes on. Emits a fault when the error is new."""
        message = redact(message)  # status and MQTT never carry a camera URL's password
        core = self.core
        with core._locked():
            if self.camera["ok"] or self.camera["error"] != message:
                self.camera = {"ok": False, "error": message, "since": core.clock.time()}
                core._emit("fault", {"component": "camera", "message": message, "ok": False})
                core._emit("state", core._status().to_dict())

    def camera_recovered(self) -> None:
        core = self.core
        with core._locked():
            if not self.camera["ok"]:
                self.camera = {"ok": True, "error": None, "since": core.clock.time()}
                core._emit("fault", {"component": "camera", "message": "camera ok", "ok": True})
                core._emit("state", core._status().to_dict())

    def expire(self) -> None:
        """Let old samples leave the window, then decide again (lock held)."""
        if self.camera["ok"]:
            self.state = self.window.state(self.core.clock.monotonic())
        # While the camera is down the last crowd mood stands: the music carries on as it
        # was (schedule and override still apply) instead of drifting to "no audience".
        self.decide(self.state)

    # -- commands (KioskApi) ----------------------------------------------------------------

    def override(self, mood: str, ttl_s: float) -> None:
        core = self.core
        with core._locked():
            now, wall = core.clock.monotonic(), core.clock.time()
            try:
                o = self.policy.set_override(mood, ttl_s, now, wall, core.music.available)
            except PolicyError as exc:
                raise CommandError(str(exc)) from None
            log.info("override", extra=fields(target=o.target, playlist=o.playlist, ttl_s=ttl_s))
            self.decide_now()
            core._emit("state", core._status().to_dict())

    def clear_override(self) -> None:
        core = self.core
        with core._locked():
            if self.policy.clear_override():
                self.decide_now()
                core._emit("state", core._status().to_dict())

    # -- the decision (lock held) -----------------------------------------------------------

    def decide_now(self) -> Decision:
        """Decide on the window as it is now (after a command or a library change)."""
        return self.decide(self.window.state(self.core.clock.monotonic()))

    def decide(self, state: MoodState) -> Decision:
        core = self.core
        d = self.policy.decide(
            core.clock.monotonic(), core.clock.local(), state, core.music.available
        )
        if d.volume is not None:
            core.player.set_volume(d.volume)
        if d.arm is not None:  # policy.experiment: which arm this mood decision drew
            core._emit("experiment", {**d.arm, "mood": d.mood, "playlist": d.playlist})
        if d.changed:
            log.info(
                "playlist switch",
                extra=fields(src=d.previous, dst=d.playlist, reason=d.reason, mood=d.mood),
            )
            core._emit("playlist", {"from": d.previous, "to": d.playlist, "reason": d.reason})
            if d.playlist is None:
                core.playback.stop()
            elif not core.playback.user_paused:
                core.playback.play(d.playlist)
            core._emit("state", core._status().to_dict())
        return d
