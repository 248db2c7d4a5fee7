"""Tracks the shop never wants to hear: by file, by artist, or by a pattern.

Rules come from two places: ``music.blocked`` in the config (always in force; edit the
config to drop one) and the ``block``/``unblock`` commands, kept in a JSON file in the
state directory. That file is written atomically (temp file, fsync, rename), so a power
cut leaves the old list or the new one, never half of one. A track rule holds the path
relative to the music root where it can (``playlist/sub/file.mp3``), so it still matches
after a USB import swaps the root to a new version.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import Field, model_validator

from kiosk.settings_base import Section
from kiosk.state_files import write_json_atomic

log = logging.getLogger(__name__)

Kind = Literal["track", "artist", "pattern"]
KINDS: tuple[str, ...] = ("track", "artist", "pattern")
MAX_RULES = 1000
MAX_VALUE = 1024
MEMO_MAX = 100_000  # tracks whose verdict is remembered (a few MB at most)


class BlockEntry(Section):
    """One block rule: exactly one of track, artist, pattern."""

    track: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_VALUE,
        description="A file: its path relative to music.root (playlist/file.mp3), or absolute.",
    )
    artist: str | None = Field(
        None, min_length=1, max_length=200, description="An artist (case-insensitive)."
    )
    pattern: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Text found in the title, artist or path (case-insensitive); * and ? "
        "are wildcards.",
    )

    @model_validator(mode="after")
    def _one(self) -> BlockEntry:
        if sum(v is not None for v in (self.track, self.artist, self.pattern)) != 1:
            raise ValueError("give exactly one of track, artist, pattern")
        return self

    def rule(self) -> tuple[str, str]:
        for kind in KINDS:
            value = getattr(self, kind)
            if value is not None:
                return kind, value
        raise AssertionError("validated")


def _norm(kind: str, value: str) -> str:
    value = value.strip()
    return value if kind == "track" else value.casefold()


def matches(kind: str, value: str, track: Any) -> bool:
    """Whether rule (``kind``, ``value``) covers ``track`` (a ``Track`` or a path)."""
    path = str(getattr(track, "path", track))
    if kind == "track":
        return path == value or path.endswith("/" + value.lstrip("/"))
    artist = getattr(track, "artist", None)
    if kind == "artist":
        return bool(artist) and str(artist).strip().casefold() == value.casefold()
    title = getattr(track, "title", None)
    texts = [str(t).casefold() for t in (title, artist, path) if t]
    needle = value.casefold()
    if any(c in needle for c in "*?["):
        return any(fnmatch.fnmatchcase(t, needle) for t in texts)
    return any(needle in t for t in texts)


class BlockList:
    """The rules in force. Not thread-safe on its own: the core's lock guards it."""

    def __init__(self, path: Path | None = None, seeded: Iterable[BlockEntry] = ()) -> None:
        self.path = path
        self._config: list[tuple[str, str]] = []
        self._user: list[tuple[str, str]] = []
        # Verdict per (path, title, artist) under the rules in force. Every rule against
        # every track took seconds with hundreds of rules, and the core asks at every
        # library check (every few seconds, holding its lock): the watchdog starved.
        self._memo: dict[tuple[str, Any, Any], bool] = {}
        self.reseed(seeded)
        self._load()

    def reseed(self, seeded: Iterable[BlockEntry]) -> None:
        """Replace the config's rules (after a reload)."""
        self._memo = {}
        self._config = []
        for entry in seeded:
            kind, value = entry.rule()
            rule = (kind, _norm(kind, value))
            if rule not in self._config:
                self._config.append(rule)

    def rules(self) -> list[dict[str, str]]:
        """Every rule, config ones first: ``{kind: value, "source": "config"|"command"}``."""
        out = [{k: v, "source": "config"} for k, v in self._config]
        out += [{k: v, "source": "command"} for k, v in self._user if (k, v) not in self._config]
        return out

    def __len__(self) -> int:
        return len(set(self._config) | set(self._user))

    def blocked(self, track: Any) -> bool:
        key = (str(getattr(track, "path", track)), getattr(track, "title", None),
               getattr(track, "artist", None))  # fmt: skip
        verdict = self._memo.get(key)
        if verdict is None:
            verdict = any(matches(k, v, track) for k, v in (*self._config, *self._user))
            if len(self._memo) >= MEMO_MAX:
                self._memo.clear()
            self._memo[key] = verdict
        return verdict

    def allowed(self, tracks: Iterable[Any]) -> list[Any]:
        """``tracks`` without the blocked ones (order kept)."""
        if not self._config and not self._user:
            return list(tracks)
        return [t for t in tracks if not self.blocked(t)]

    def add(self, kind: str, value: str) -> dict[str, str]:
        """Add a rule and save. Raises ValueError (refused) or OSError (not saved); in both
        cases nothing changed."""
        if kind not in KINDS:
            raise ValueError(f"unknown block kind {kind!r}")
        rule = (kind, _norm(kind, value))
        if not rule[1]:
            raise ValueError(f"empty {kind}")
        if rule in self._config or rule in self._user:
            return {kind: rule[1]}
        if len(self) >= MAX_RULES:
            raise ValueError(f"the block list is full ({MAX_RULES} rules); unblock some first")
        self._user.append(rule)
        try:
            self._save()
        except OSError:
            self._user.remove(rule)
            raise
        for key, verdict in self._memo.items():  # one more rule: only it needs a look
            if not verdict:
                track = SimpleNamespace(path=key[0], title=key[1], artist=key[2])
                self._memo[key] = matches(kind, rule[1], track)
        return {kind: rule[1]}

    def remove(self, kind: str, value: str) -> bool:
        """Drop a rule added by command and save. False when there was none. A config rule
        raises ValueError (the config would bring it back)."""
        rule = (kind, _norm(kind, value))
        if rule in self._config:
            raise ValueError(f"{kind} {rule[1]!r} is blocked in the config (music.blocked)")
        if rule not in self._user:
            return False
        index = self._user.index(rule)
        self._user.remove(rule)
        self._memo = {}
        try:
            self._save()
        except OSError:
            self._user.insert(index, rule)
            raise
        return True

    # -- file -------------------------------------------------------------------------------

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            rules = data["rules"]
            if not isinstance(rules, list):
                raise ValueError("rules is not a list")
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Keep the damaged file for a person to look at; start from the config's rules.
            aside = self.path.with_suffix(".damaged")
            log.error("block list %s unreadable (%s); moved to %s", self.path, exc, aside)
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            return
        for item in rules[:MAX_RULES]:
            try:
                kind, value = BlockEntry.model_validate(item).rule()
            except Exception:
                log.warning("ignoring a bad block rule in %s: %.100r", self.path, item)
                continue
            rule = (kind, _norm(kind, value))
            if rule not in self._user:
                self._user.append(rule)

    def _save(self) -> None:
        if self.path is None:
            return
        data = {"version": 1, "rules": [{k: v} for k, v in self._user]}
        write_json_atomic(self.path, data, ".blocklist-", sync_dir=True, indent=1)
