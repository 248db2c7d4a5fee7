"""What the daemon is made of: the vision pipeline, the player, the library, the demo music,
the history and the announcements, each built from the config.

``app.Daemon`` calls these (tests pass their own factories instead). A part that cannot be
built fails start-up with one line (``StartupError``); the optional ones (history,
announcements) log and leave the music playing without them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kiosk.config import LoadedConfig
from kiosk.library.config import music_root
from kiosk.paths import state_dir
from kiosk.service.logs import fields
from kiosk.service.startup import StartupError, player_config

if TYPE_CHECKING:
    from kiosk.core.core import Core

# One logger for every line the daemon writes, whichever module writes it.
log = logging.getLogger("kiosk.service.daemon")


def with_demo_music(loaded: LoadedConfig) -> LoadedConfig:
    """Built-in config: generate one demo tune per playlist in the state dir, use it."""
    from kiosk.library.demo import ensure_demo_library

    root = state_dir(loaded) / "demo-music"
    try:
        root.mkdir(parents=True, exist_ok=True)
        ensure_demo_library(root, loaded.config.policy.playlist_names())
    except OSError as exc:
        raise StartupError(f"cannot create demo music in {root}: {exc}") from None
    from kiosk.camera.demo import with_demo_settings

    cfg = with_demo_settings(loaded.config)  # a demo day fits in little more than a minute
    cfg.music.root = str(root)
    log.info("demo music ready", extra=fields(root=str(root)))
    return replace(loaded, config=cfg)


def build_pipeline(loaded: LoadedConfig) -> Any:
    """The vision pipeline (detector + emotion classifier) from ``vision``."""
    from kiosk.vision.runtime import ModelError, RuntimeUnavailable

    try:
        from kiosk.vision.pipeline import Pipeline

        return Pipeline.from_config(loaded)
    except (ModelError, RuntimeUnavailable) as exc:
        raise StartupError(str(exc)) from None


def build_player(loaded: LoadedConfig, backend: str | None, core: Core) -> Any:
    """The player backend, reporting its tracks and errors to ``core``."""
    try:
        from kiosk.player.player import PlayerError, create_player
    except ImportError as exc:
        raise StartupError(f"the music player cannot load: {exc}") from None

    pcfg = player_config(loaded, backend)
    try:
        return create_player(
            pcfg,
            on_track=core.player_track_callback,
            on_error=core.player_error_callback,
            clock=core.clock.monotonic,
            base_dir=loaded.base_dir,
        )
    except PlayerError as exc:
        raise StartupError(str(exc)) from None


def open_library(loaded: LoadedConfig, required: bool) -> Any | None:
    """The music library. ``required`` False (simulation): None when there is no music,
    and every playlist then counts as available."""
    try:
        from kiosk.library.library import Library
    except ImportError as exc:
        raise StartupError(f"the music library cannot load: {exc}") from None

    from kiosk.usb_import.importer import recover_library

    recover_library(loaded)  # a killed import may have left music/ missing (see importer)
    root = music_root(loaded)
    if not root.is_dir():
        if not required:
            return None  # simulation without music: every playlist counts as available
        log.warning(
            "music folder missing; playing nothing until it appears", extra=fields(root=str(root))
        )
    if required:  # the daemon: self-sorting views when music.analysis is on
        from kiosk.service.analysis_feed import open_library as open_views

        return open_views(loaded, root)
    library = Library(root, loaded.config.music.extensions)
    if not required and not any(library.playlists().values()):
        return None  # simulation over an empty music folder: the same
    return library


def start_announcer(core: Core, loaded: LoadedConfig) -> None:
    """Recorded announcements over the music, when ``announcements.rules`` has any."""
    cfg = loaded.config
    if not cfg.announcements.rules:
        return
    from kiosk.announcements.announcer import MessageAnnouncer
    from kiosk.announcements.voice import NullVoice, VlcVoice

    try:
        if getattr(core.player, "backend", "") == "vlc":
            voice: Any = VlcVoice(cfg.player, cfg.announcements.wav_path, loaded.base_dir)
        else:
            voice = NullVoice()
    except Exception as exc:  # the music plays on without announcements
        log.error("announcements are off: their player cannot start: %s", exc)
        return
    core.attach_announcer(MessageAnnouncer(cfg.announcements, core.player, voice, loaded.resolve))


def attach_history(core: Core, loaded: LoadedConfig) -> Any:
    """The history recorder (kiosk.history), or None when it is off or cannot start."""
    try:
        from kiosk.history.attach import attach

        return attach(core, loaded, state_dir(loaded))
    except Exception:  # the music must play without its memory
        log.exception("history cannot start; running without it")
        return None
