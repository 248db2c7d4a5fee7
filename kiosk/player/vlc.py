"""The ``vlc`` backend: two libvlc media players ("decks") on one libvlc instance.

python-vlc is imported only here, so a machine without libvlc can still run the null
backend, the simulation and the tests that need no audio. Everything is polled from the
daemon thread (plus the short-lived ramp thread, under the same lock); no libvlc event
callbacks are used, because calling back into libvlc from its own event thread deadlocks.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.library.tracks import Track
from kiosk.player.base import Clock, PlayerError, default_wav_path
from kiosk.player.config import PlayerConfig
from kiosk.player.decks import Deck, DeckPlayer

log = logging.getLogger("kiosk.player.player")

BASE_ARGS = [
    "--no-video",
    "--quiet",
    "--ignore-config",  # a desktop user's vlcrc must not change the shop's sound
    "--no-metadata-network-access",  # never look up covers or tags online
]
# Loudness levelling, measured on libvlc 3.0 into afile (tests/player/test_loudness_vlc.py):
# a per-media ":gain=" option and the deck volume leave the output unchanged, "--gain"
# works but only for the whole instance (both decks). A deck's equalizer preamp is per
# media player, so each track keeps its own gain through a crossfade. VLC's equalizer
# scales its input by 0.25 (-12.04 dB) for headroom; the preamp (-20..+20 dB) adds that
# back, which leaves -32..+8 dB of gain.
EQ_INPUT_DB = 20 * math.log10(0.25)
EQ_PREAMP_RANGE = (-20.0, 20.0)
INSTALL_HINT = (
    "install it with `sudo apt install libvlc5 vlc-plugin-base` (and `pip install python-vlc`), "
    "or set player.backend: null to run without sound"
)


def load_vlc() -> Any:
    """Import python-vlc, or raise ``PlayerError`` that says how to install libvlc."""
    try:
        import vlc

        vlc.libvlc_get_version()  # python-vlc imports without libvlc and fails on first use
    except Exception as exc:  # ImportError, OSError, NameError, AttributeError...
        raise PlayerError(
            f"player.backend: libvlc is not available ({exc}); {INSTALL_HINT}"
        ) from None
    return vlc


@contextlib.contextmanager
def _stderr_captured() -> Iterator[list[str]]:
    """Collect what C code (libvlc) writes to fd 2 meanwhile, as lines.

    libvlc prints option errors straight to the process's stderr; the kiosk turns them into
    its own one-line start-up error instead.
    """
    lines: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2: nothing to capture
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        try:
            os.dup2(tmp.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read(64 * 1024).decode("utf-8", "replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())


def has_sound_output() -> bool:
    """A playback device or a sound server this process could reach."""
    if glob.glob("/dev/snd/pcmC*D*p"):
        return True
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return bool(runtime) and any(
        os.path.exists(os.path.join(runtime, name)) for name in ("pulse/native", "pipewire-0")
    )


def output_args(
    cfg: PlayerConfig, base_dir: Path | None = None, force_file: bool = False
) -> tuple[list[str], str]:
    """libvlc options for the configured output and a short description of it."""
    aout = cfg.aout
    if force_file or (aout == "auto" and not has_sound_output()):
        aout = "afile"
    if aout == "auto":
        return [], "default"
    if aout == "afile":
        wav = Path(os.path.expanduser(cfg.wav_path)) if cfg.wav_path else default_wav_path()
        if not wav.is_absolute():
            wav = (base_dir or Path.cwd()) / wav
        try:
            wav.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PlayerError(
                f"player.wav_path: cannot create the folder of {wav} ({exc.strerror or exc}); "
                "set it to a file in a writable folder"
            ) from None
        try:
            with open(wav, "ab"):  # VLC would only fail later, track by track, in silence
                pass
        except OSError as exc:
            raise PlayerError(
                f"player.wav_path: {wav} is not writable ({exc.strerror or exc}); "
                "set it to a writable file, or choose another player.aout"
            ) from None
        return ["--aout=afile", f"--audiofile-file={wav}"], f"afile:{wav}"
    if aout == "alsa" and cfg.alsa_device:
        return ["--aout=alsa", f"--alsa-audio-device={cfg.alsa_device}"], f"alsa:{cfg.alsa_device}"
    return [f"--aout={aout}"], aout


class VlcPlayer(DeckPlayer):
    backend = "vlc"

    def __init__(
        self, cfg: PlayerConfig, clock: Clock | None = None, base_dir: Path | None = None
    ) -> None:
        super().__init__(cfg, clock)
        self._vlc = load_vlc()
        self._base_dir = base_dir
        self._fallback = False
        self._dead_reported = False
        self._instance: Any = None
        self._mps: list[Any] = []
        self._out = ""
        self._open_output(force_file=False)

    def _open_output(self, force_file: bool) -> None:
        args, self._out = output_args(self.cfg, self._base_dir, force_file)
        if self._out.startswith("afile:") and self.cfg.aout == "auto":
            self._fallback = True
            log.warning(
                "no sound card or sound server found; writing the audio to %s instead "
                "(set player.aout to choose an output)",
                self._out[len("afile:") :],
            )
        with _stderr_captured() as said:
            instance = self._vlc.Instance([*BASE_ARGS, *args, *self.cfg.vlc_args])
        if instance is None:
            why = " ".join(line for line in said if not line.startswith("Try `vlc"))
            raise PlayerError(
                f"player.vlc_args: libvlc refused the options {self.cfg.vlc_args + args}"
                + (f" ({why})" if why else "")
                + "; fix or remove them (`vlc -H` lists the options), or check player.aout"
            )
        if said:
            print("\n".join(said), file=sys.stderr)  # nothing libvlc said is lost
        self._instance = instance
        self._mps = [instance.media_player_new() for _ in self._decks]
        log.info("VLC %s ready, output %s", self._vlc.libvlc_get_version().decode(), self._out)

    def _output_silent(self, deck: Deck) -> bool:
        # VLC keeps "playing" in real time when its output failed to open; only the
        # media statistics show that decoded audio never reached the output.
        media = self._mps[deck.index].get_media()
        if media is None:
            return False
        stats = self._vlc.MediaStats()
        if not media.get_stats(stats):
            return False
        return stats.decoded_audio > 0 and stats.played_abuffers == 0

    def _output_dead(self, now: float) -> None:
        if self.cfg.aout != "auto" or self._fallback:
            if not self._dead_reported:
                self._dead_reported = True
                log.error("audio output %s plays nothing; VLC cannot open it", self._out)
                self._report(
                    f"audio output {self._out} plays nothing (VLC cannot open it); "
                    "check the speakers, player.aout and player.alsa_device (`kiosk check`)"
                )
            return
        message = (
            "the default audio output plays nothing (VLC cannot open it); "
            "writing the audio to a WAV file instead; set player.aout (`kiosk check`)"
        )
        log.error(message)
        self._report(message)
        for deck in self._decks:
            self._retire(deck, 0.0, now)
        self._release()
        self._open_output(force_file=True)  # the next poll starts the next track there

    # -- deck hooks -------------------------------------------------------------------------

    def _start(self, deck: Deck, track: Track, level: int) -> bool:
        mp = self._mps[deck.index]
        try:
            media = self._instance.media_new_path(str(track.path))
        except Exception as exc:  # e.g. a file name that is not valid text
            log.warning("cannot open %r: %s", track.path, exc)
            return False
        if media is None:
            return False
        self._set_gain(mp, deck.gain_db)
        mp.set_media(media)
        media.release()  # the player holds its own reference
        mp.audio_set_volume(level)
        return mp.play() == 0

    def _set_gain(self, mp: Any, gain_db: float) -> None:
        if not gain_db:
            mp.set_equalizer(None)  # no filter at all when nothing is levelled
            return
        lo, hi = EQ_PREAMP_RANGE
        eq = self._vlc.libvlc_audio_equalizer_new()
        try:
            self._vlc.libvlc_audio_equalizer_set_preamp(eq, max(lo, min(hi, gain_db - EQ_INPUT_DB)))
            mp.set_equalizer(eq)  # libvlc copies the settings
        finally:
            self._vlc.libvlc_audio_equalizer_release(eq)

    def _halt(self, deck: Deck) -> None:
        self._mps[deck.index].stop()

    def _set_level(self, deck: Deck, level: int) -> bool:
        return self._mps[deck.index].audio_set_volume(level) == 0

    def _set_pause(self, deck: Deck, paused: bool) -> None:
        self._mps[deck.index].set_pause(1 if paused else 0)

    def _status(self, deck: Deck) -> tuple[str, float, float]:
        mp = self._mps[deck.index]
        st = self._vlc.State
        state = mp.get_state()
        if state in (st.Playing, st.Paused):
            kind = "playing"
        elif state == st.Ended:
            kind = "ended"
        elif state == st.Error:
            kind = "error"
        elif state in (st.Opening, st.Buffering):
            kind = "opening"
        else:
            kind = "idle"
        return kind, max(0, mp.get_time()) / 1000.0, max(0, mp.get_length()) / 1000.0

    def _output(self) -> str:
        return self._out

    def _release(self) -> None:
        for mp in self._mps:
            mp.stop()
            mp.release()
        self._mps = []
        if self._instance is not None:
            self._instance.release()
            self._instance = None
