"""The audio check: VLC plays a short test tone through the configured output."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from kiosk.check.result import Check
from kiosk.native_stderr import native_stderr_to_log

log = logging.getLogger("kiosk.commands.check")


def _tone_wav(path: Path, seconds: float = 0.4) -> None:
    import math
    import struct
    import wave

    rate = 22050
    frames = b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def player_aout(loaded) -> tuple[str | None, list[str]]:
    """The VLC audio output and options the player would use (player section)."""
    player = loaded.config.player
    try:
        # The player's own choice, so the tone goes exactly where the music will.
        from kiosk.player.vlc import output_args

        opts, _desc = output_args(player, loaded.base_dir)
    except ImportError:
        opts = [] if player.aout == "auto" else [f"--aout={player.aout}"]
    aout = next((o.split("=", 1)[1] for o in opts if o.startswith("--aout=")), None)
    extra = [o for o in opts if not o.startswith("--aout=")]
    return aout, extra + list(player.vlc_args)


def check_audio(aout: str | None, extra: list[str] | None = None, timeout_s: float = 6.0) -> Check:
    """Play a generated 1 s tone through the configured VLC output.

    VLC reports Playing even when its audio output cannot open; it then drops the audio
    and reaches the end at decode speed. A real output plays in real time, so the tone's
    wall-clock duration tells the two apart. ``afile`` (tests, no sound card) writes a WAV
    instead, which is checked for samples.
    """
    fix = (
        "apt install libvlc5 vlc-plugin-base; for ALSA check `aplay -l` lists a card and "
        "`speaker-test -c2 -l1` is heard; the kiosk user must be in the audio group; set "
        "player.aout (alsa under systemd: PulseAudio/PipeWire are not reachable from a service)"
    )
    try:
        import vlc
    except Exception as exc:  # python-vlc raises OSError/NameError without libvlc
        return Check("audio", False, True, f"libvlc not loadable: {exc}", fix)
    opts = ["--no-video", "--intf=dummy", "--quiet", *(extra or [])]
    if aout:
        opts.insert(0, f"--aout={aout}")
    afile = next((o.split("=", 1)[1] for o in opts if o.startswith("--audiofile-file=")), None)
    if afile:
        with contextlib.suppress(OSError):
            os.unlink(afile)  # an old file must not pass for this run's output
    instance = vlc.Instance(opts)
    if instance is None:
        return Check("audio", False, True, f"VLC would not start with {opts}", fix)
    tone_s = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        tone = Path(tmp) / "tone.wav"
        _tone_wav(tone, tone_s)
        player = instance.media_player_new()
        player.set_media(instance.media_new(str(tone)))
        stamps: dict[str, float] = {}
        events = player.event_manager()
        kinds = {
            vlc.EventType.MediaPlayerPlaying: "play",
            vlc.EventType.MediaPlayerEndReached: "end",
            vlc.EventType.MediaPlayerEncounteredError: "err",
        }
        for kind, key in kinds.items():
            events.event_attach(kind, lambda _e, k=key: stamps.setdefault(k, time.monotonic()))
        try:
            player.play()
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and "end" not in stamps and "err" not in stamps:
                time.sleep(0.02)
        finally:
            for kind in kinds:
                events.event_detach(kind)
            player.stop()
            player.release()
            instance.release()
    name = f"aout={aout or 'default'}"
    if "err" in stamps or "play" not in stamps:
        return Check("audio", False, True, f"VLC could not play a test tone ({name})", fix)
    if "end" not in stamps:
        return Check("audio", False, True, f"test tone did not finish in {timeout_s:g} s", fix)
    if afile is not None:
        size = os.path.getsize(afile) if os.path.exists(afile) else 0
        if size <= 44:
            return Check("audio", False, True, f"{name}: no samples written to {afile}", fix)
        return Check("audio", True, True, f"VLC wrote a test tone to {afile} ({size} bytes)")
    took = stamps["end"] - stamps["play"]
    if took < 0.6 * tone_s:
        return Check(
            "audio",
            False,
            True,
            f"{name}: the audio output did not open (a {tone_s:g} s tone ended in {took:.2f} s)",
            fix,
        )
    return Check("audio", True, True, f"VLC played a {tone_s:g} s test tone via {name}")


ALSA_LINE = re.compile(r"^ALSA lib \S+:\d+:\(\w+\) (.*)$")


def audio_check(loaded, aout: str | None, extra: list[str]) -> Check:
    # libasound prints ~100 lines on fd 2 when VLC probes a machine with no sound card;
    # they go to the log at DEBUG (kiosk -v check), and the first one into the detail.
    with native_stderr_to_log(log, chatter=("ALSA lib", "INFO: ")) as native:
        result = check_audio(aout, extra)
    alsa = [m.group(1) for line in native.lines if (m := ALSA_LINE.match(line))]
    if not result.ok and alsa:
        result.detail += f" (ALSA: {alsa[0]})"
    if result.ok and aout == "afile" and loaded.config.player.aout == "auto":
        # player.aout auto found no sound card or server and falls back to a WAV file:
        # fine for the demo, a silent shop for a real install.
        result.ok = False
        result.required = loaded.path is not None
        result.detail = "no sound card or sound server found; " + result.detail
        result.fix = "connect speakers/a USB sound card, then set player.aout: alsa"
    return result
