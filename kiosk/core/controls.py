"""Shop-floor controls: the staff skip limit, the block list and announcements.

A controller of ``kiosk.core.core.Core`` (Mopidy's manner: the core composes controllers
and each one holds the core): it uses the core's lock, clock, library, player and event
plumbing. Every method raises ``CommandError`` for a refused request and then changes
nothing.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from kiosk.core.api import CommandError
from kiosk.library.blocklist import BlockList, matches
from kiosk.player.skip_limit import SkipLimiter
from kiosk.service.logs import fields

if TYPE_CHECKING:
    from kiosk.core.core import Core

log = logging.getLogger("kiosk.core.core")


@contextmanager
def _block_list_errors() -> Iterator[None]:
    """A bad rule or a block list that cannot be saved is the command's error reply."""
    try:
        yield
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"block list cannot be saved: {exc.strerror or exc}") from None


class ControlsController:
    """Skip limit, block list and announcements of one core."""

    def __init__(self, core: Core, blocklist: BlockList | None) -> None:
        self.core = core
        cfg = core.loaded.config
        self.blocklist = blocklist if blocklist is not None else BlockList(None, cfg.music.blocked)
        self.skips = SkipLimiter(cfg.player.skip_limit_per_hour)

    def reconfigure(self, cfg: Any) -> None:
        self.blocklist.reseed(cfg.music.blocked)
        self.skips.per_hour = cfg.player.skip_limit_per_hour

    # -- skip limit -------------------------------------------------------------------------

    def check_skip_limit(self) -> None:
        """Raise when staff used up this hour's skips; the message says when the next is."""
        clock = self.core.clock
        wait = self.skips.wait_s(clock.monotonic())
        if wait > 0:
            # Rounded up to the minute, so "next at 14:32" is never a minute too early.
            at = math.ceil((clock.time() + wait) / 60.0) * 60.0
            when = datetime.fromtimestamp(at).astimezone().strftime("%H:%M")
            raise CommandError(f"skip limit: {self.skips.per_hour} per hour, next at {when}")

    def record_skip(self) -> None:
        self.skips.record(self.core.clock.monotonic())

    def skip_allowance(self) -> dict[str, Any]:
        """``{"limit": n (0 = unlimited), "left": skips left this hour or None}``."""
        with self.core._lock:
            left = self.skips.left(self.core.clock.monotonic())
            return {"limit": self.skips.per_hour, "left": left}

    # -- announcements ----------------------------------------------------------------------

    def announce(self, file: str) -> dict[str, str]:
        """Play one announcement now (a file in one of the announcement folders)."""
        announcer = self.core.announcer
        if announcer is None:
            raise CommandError("announcements are off (no announcements.rules in the config)")
        try:
            path = announcer.announce(file)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        return {"file": path.name}

    def poll_announcements(self) -> None:
        """Daemon loop: start timed announcements that are due (dropped while closed)."""
        announcer = self.core.announcer
        if announcer is None:
            return
        from kiosk.mood.schedule import evaluate

        local = self.core.clock.local()
        announcer.poll(local, evaluate(self.core.loaded.config.policy.schedule, local).open)

    # -- block list -------------------------------------------------------------------------

    def block(self, kind: str, value: str, limited: bool = False) -> dict[str, str]:
        """Block a track ("current" or a path), an artist or a pattern. Shuffle honours it
        at once; a blocked track that is playing is skipped with a fade. ``limited`` (staff,
        who cannot unblock) may not leave a playlist with nothing to play."""
        core = self.core
        with core._locked():
            if kind == "track" and value == "current":
                playing = core.playback.track
                if playing is None:
                    raise CommandError("nothing is playing")
                value = self._relative(playing["path"])
            if limited:
                self._check_staff_block(kind, value)
            with _block_list_errors():
                rule = self.blocklist.add(kind, value)
            log.info("blocked", extra=fields(**rule))
            self._blocks_changed()
            return rule

    def _check_staff_block(self, kind: str, value: str) -> None:
        """Refuse a rule that would silence a playlist: staff cannot take it back, and a
        pattern such as "*" or "e" would otherwise stop the music for the whole shop."""
        library = self.core.library
        if library is None:
            return
        for name, tracks in library.playlists().items():
            playable = self.blocklist.allowed(tracks)
            if playable and all(matches(kind, value, t) for t in playable):
                raise CommandError(
                    f"block refused: it would leave playlist {name!r} with nothing to play "
                    "(an operator can block it)"
                )

    def unblock(self, kind: str, value: str) -> None:
        with self.core._locked():
            with _block_list_errors():
                removed = self.blocklist.remove(kind, value)
            if not removed:
                raise CommandError(f"{kind} {value!r} is not blocked")
            log.info("unblocked", extra=fields(**{kind: value}))
            self._blocks_changed()

    def blocks(self) -> list[dict[str, str]]:
        with self.core._lock:
            return self.blocklist.rules()

    def _blocks_changed(self) -> None:
        core = self.core
        core.music.refresh(force=False)
        core.music.after_change()  # list without the blocked
        track = core.playback.track
        if track is not None and self.blocklist.blocked(SimpleNamespace(**track)):
            try:
                core.player.next_track()  # fades over a second
            except Exception:
                log.exception("player cannot skip a blocked track")
            core.playback.watch()  # the status names the new track at once
        core._emit("state", core._status().to_dict())

    def _relative(self, path: str) -> str:
        """A track path relative to the music root, so the block survives a USB import."""
        library = self.core.library
        if library is not None:
            try:
                return str(Path(path).relative_to(os.path.realpath(library.root)))
            except ValueError:
                pass
        return path
