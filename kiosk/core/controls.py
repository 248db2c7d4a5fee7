"""Shop-floor controls of the core: the staff skip limit and the block list.

A mixin of ``kiosk.service.core.Core`` (kept apart so core.py stays about the mood and the
music): it uses the core's lock, clock, library, player and event plumbing. Every method
raises ``CommandError`` for a refused request and then changes nothing.
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
from typing import Any

from kiosk.core.api import CommandError
from kiosk.library.blocklist import BlockList, matches
from kiosk.player.skip_limit import SkipLimiter
from kiosk.service.logs import fields

log = logging.getLogger("kiosk.service.core")


@contextmanager
def _block_list_errors() -> Iterator[None]:
    """A bad rule or a block list that cannot be saved is the command's error reply."""
    try:
        yield
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"block list cannot be saved: {exc.strerror or exc}") from None


class ControlsMixin:
    """Skip limit and block list; needs the attributes ``Core.__init__`` sets."""

    blocklist: BlockList
    _skips: SkipLimiter

    def _init_controls(self, blocklist: BlockList | None) -> None:
        cfg = self.loaded.config
        self.blocklist = blocklist if blocklist is not None else BlockList(None, cfg.music.blocked)
        self._skips = SkipLimiter(cfg.player.skip_limit_per_hour)

    def _reconfigure_controls(self, cfg: Any) -> None:
        self.blocklist.reseed(cfg.music.blocked)
        self._skips.per_hour = cfg.player.skip_limit_per_hour

    # -- skip limit -------------------------------------------------------------------------

    def _check_skip_limit(self) -> None:
        """Raise when staff used up this hour's skips; the message says when the next is."""
        wait = self._skips.wait_s(self.clock.monotonic())
        if wait > 0:
            # Rounded up to the minute, so "next at 14:32" is never a minute too early.
            at = math.ceil((self.clock.time() + wait) / 60.0) * 60.0
            when = datetime.fromtimestamp(at).astimezone().strftime("%H:%M")
            raise CommandError(f"skip limit: {self._skips.per_hour} per hour, next at {when}")

    def _record_skip(self) -> None:
        self._skips.record(self.clock.monotonic())

    def skip_allowance(self) -> dict[str, Any]:
        """``{"limit": n (0 = unlimited), "left": skips left this hour or None}``."""
        with self._lock:
            left = self._skips.left(self.clock.monotonic())
            return {"limit": self._skips.per_hour, "left": left}

    # -- announcements ----------------------------------------------------------------------

    def announce(self, file: str) -> dict[str, str]:
        """Play one announcement now (a file in one of the announcement folders)."""
        announcer = self._announcer
        if announcer is None:
            raise CommandError("announcements are off (no announcements.rules in the config)")
        try:
            path = announcer.announce(file)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        return {"file": path.name}

    def poll_announcements(self) -> None:
        """Daemon loop: start timed announcements that are due (dropped while closed)."""
        announcer = self._announcer
        if announcer is None:
            return
        from kiosk.mood.schedule import evaluate

        local = self.clock.local()
        announcer.poll(local, evaluate(self.loaded.config.policy.schedule, local).open)

    # -- block list -------------------------------------------------------------------------

    def block(self, kind: str, value: str, limited: bool = False) -> dict[str, str]:
        """Block a track ("current" or a path), an artist or a pattern. Shuffle honours it
        at once; a blocked track that is playing is skipped with a fade. ``limited`` (staff,
        who cannot unblock) may not leave a playlist with nothing to play."""
        with self._locked():
            if kind == "track" and value == "current":
                if self._track is None:
                    raise CommandError("nothing is playing")
                value = self._relative(self._track["path"])
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
        playlists = getattr(self.library, "playlists", None)
        if playlists is None:
            return
        for name, tracks in playlists().items():
            playable = self.blocklist.allowed(tracks)
            if playable and all(matches(kind, value, t) for t in playable):
                raise CommandError(
                    f"block refused: it would leave playlist {name!r} with nothing to play "
                    "(an operator can block it)"
                )

    def unblock(self, kind: str, value: str) -> None:
        with self._locked():
            with _block_list_errors():
                removed = self.blocklist.remove(kind, value)
            if not removed:
                raise CommandError(f"{kind} {value!r} is not blocked")
            log.info("unblocked", extra=fields(**{kind: value}))
            self._blocks_changed()

    def blocks(self) -> list[dict[str, str]]:
        with self._lock:
            return self.blocklist.rules()

    def _blocks_changed(self) -> None:
        self._refresh_available(force=False)
        self._after_library_change()  # list without the blocked
        track = self._track
        if track is not None and self.blocklist.blocked(SimpleNamespace(**track)):
            try:
                self.player.next_track()  # fades over a second
            except Exception:
                log.exception("player cannot skip a blocked track")
            self._watch_player()  # the status names the new track at once
        self._emit("state", self._status().to_dict())

    def _relative(self, path: str) -> str:
        """A track path relative to the music root, so the block survives a USB import."""
        root = getattr(self.library, "root", None)
        if root is not None:
            try:
                return str(Path(path).relative_to(os.path.realpath(root)))
            except ValueError:
                pass
        return path
