"""The players that speak the announcements: a VLC player of its own, or a silent one.

The voice has its own libvlc instance and media player, so the music's decks, fades and
crossfades are never touched; with ``aout: afile`` it writes a WAV file of its own.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Protocol

from kiosk.player.config import PlayerConfig

log = logging.getLogger(__name__)


class Voice(Protocol):
    def play(self, path: Path, volume: int) -> bool: ...
    def status(self) -> str: ...  # "playing" | "ended" | "error"
    def stop(self) -> None: ...
    def close(self) -> None: ...


class NullVoice:
    """Plays nothing for the message's tagged length (``default_s`` when unknown)."""

    def __init__(self, default_s: float = 3.0, clock=time.monotonic) -> None:
        self.default_s = default_s
        self.clock = clock
        self.played: list[Path] = []
        self._until = 0.0

    def play(self, path: Path, volume: int) -> bool:
        from kiosk.library.tracks import read_tags

        self.played.append(path)
        length = read_tags(path)[2] or self.default_s
        self._until = self.clock() + length
        return True

    def status(self) -> str:
        return "playing" if self.clock() < self._until else "ended"

    def stop(self) -> None:
        self._until = 0.0

    def close(self) -> None:
        self.stop()


class VlcVoice:
    """One libvlc media player on its own instance, same output settings as the music."""

    def __init__(self, cfg: PlayerConfig, wav_path: str | None, base_dir: Path | None) -> None:
        from kiosk.player.vlc import BASE_ARGS, load_vlc, output_args

        self._vlc = load_vlc()
        if wav_path is None:
            from kiosk.player.player import default_wav_path

            music = Path(cfg.wav_path) if cfg.wav_path else default_wav_path()
            wav_path = str(music.with_name(music.stem + "-announce" + music.suffix))
        voice_cfg = cfg.model_copy(update={"wav_path": wav_path})
        args, self.output = output_args(voice_cfg, base_dir)
        self._instance: Any = self._vlc.Instance([*BASE_ARGS, *args, *cfg.vlc_args])
        if self._instance is None:
            from kiosk.player.player import PlayerError

            raise PlayerError(f"libvlc refused the options {args} for announcements")
        self._mp = self._instance.media_player_new()
        self._started = 0.0
        self._seen_playing = False
        self._volume = 100

    def play(self, path: Path, volume: int) -> bool:
        media = self._instance.media_new_path(os.fspath(path))
        if media is None:
            return False
        self._mp.set_media(media)
        self._started, self._seen_playing, self._volume = time.monotonic(), False, int(volume)
        if self._mp.play() != 0:
            return False
        self._mp.audio_set_volume(int(volume))
        return True

    def status(self) -> str:
        state = self._mp.get_state()
        S = self._vlc.State
        if state == S.Error:
            return "error"
        if state in (S.Ended, S.Stopped):
            return "ended" if self._seen_playing or state == S.Ended else "error"
        if state == S.Playing:
            if not self._seen_playing:
                self._seen_playing = True
                self._mp.audio_set_volume(self._volume)  # some outputs drop a volume set early
        elif time.monotonic() - self._started > 10.0:
            return "error"  # never started
        return "playing"

    def stop(self) -> None:
        self._mp.stop()

    def close(self) -> None:
        try:
            self._mp.stop()
            self._mp.release()
            self._instance.release()
        except Exception:
            log.exception("announcement player release failed")
