"""``kiosk check [--json] [--skip NAME,...]``: a self-test for the person installing the kiosk.

Each check says what it found and, when it fails, how to fix it. Exit 1 when a required
check fails, 2 when the config itself is bad, else 0 (warnings do not fail).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kiosk.commands.import_cmd import add_installed_config_arg, installed_default
from kiosk.native_stderr import native_stderr_to_log

log = logging.getLogger(__name__)

CHECK_NAMES = ("config", "camera", "models", "audio", "music", "mqtt", "disk", "clock")
MIN_YEAR = 2024
DISK_FAIL_MB = 100
DISK_WARN_MB = 1000


@dataclass
class Check:
    name: str
    ok: bool
    required: bool
    detail: str
    fix: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="installer self-test: camera, models, audio, music, broker, disk, clock",
        description="Tries every part the kiosk needs, on this machine, with this config. "
        "Exit 0 all required checks pass, 1 one failed, 2 the config is invalid.",
    )
    p.add_argument("--json", action="store_true", help='print {"ok", "checks": [...]}')
    p.add_argument(
        "--skip", default="", metavar="NAMES", help=f"comma list from {','.join(CHECK_NAMES)}"
    )
    add_installed_config_arg(p)
    p.set_defaults(func=run)


def _with_timeout(fn: Callable[[], Check], seconds: float, name: str, fix: str) -> Check:
    """Run one check in a thread so a hung camera or driver cannot hang the whole test."""
    box: list[Check] = []

    def target() -> None:
        try:
            box.append(fn())
        except Exception as exc:  # a check must report, never crash the self-test
            box.append(Check(name, False, True, f"{type(exc).__name__}: {exc}", fix))

    t = threading.Thread(target=target, daemon=True, name=f"check-{name}")
    t.start()
    t.join(seconds)
    if not box:
        return Check(name, False, True, f"no answer within {seconds:g} s", fix)
    return box[0]


# -- individual checks ------------------------------------------------------------------------
CAMERA_FIX = {
    "picamera2": "check the ribbon cable and that `rpicam-hello --list-cameras` sees it; "
    "apt install python3-picamera2; the kiosk user must be in the video group",
    "opencv": "check `v4l2-ctl --list-devices` (apt install v4l-utils) and set camera.source "
    "to the right index or /dev/videoN; the kiosk user must be in the video group",
    "folder": "set camera.source to a folder of images or a video file that exists",
    "demo": "the demo camera needs no hardware; reinstall the package if this fails",
}


def check_camera(loaded) -> Check:
    from kiosk.camera.factory import open_camera

    backend = loaded.config.camera.backend
    fix = CAMERA_FIX.get(backend, "check the camera section of the config")
    cam = open_camera(loaded)
    t0 = time.monotonic()
    try:
        cam.open()
        frame = cam.read()
    except Exception as exc:
        return Check("camera", False, True, f"{backend}: {exc}", fix)
    finally:
        with contextlib.suppress(Exception):
            cam.close()
    if frame is None or getattr(frame, "ndim", 0) != 3:
        return Check("camera", False, True, f"{backend}: no usable frame", fix)
    h, w = frame.shape[:2]
    return Check("camera", True, True, f"{backend}: {w}x{h} frame in {time.monotonic() - t0:.2f} s")


def missing_models(loaded) -> list[str]:
    """Every model file the config names that is not there (not just the first)."""
    from kiosk.vision.classifier import sidecar_path

    v = loaded.config.vision
    missing = []
    for key, name in (
        ("vision.detector.model", v.detector.model),
        ("vision.classifier.model", v.classifier.model),
    ):
        path = loaded.resolve(name)
        if not path.is_file():
            missing.append(f"{key} {path}")
        elif key == "vision.classifier.model" and not sidecar_path(path).is_file():
            missing.append(f"{key} sidecar {sidecar_path(path)}")
    return missing


def check_models(loaded) -> Check:
    from kiosk.camera.compose import photo
    from kiosk.vision.pipeline import Pipeline

    fix = (
        "check vision.detector.model and vision.classifier.model point at the .tflite files "
        "(and the classifier's .json sidecar); pip install ai-edge-litert (or tflite-runtime)"
    )
    missing = missing_models(loaded)
    if missing:
        return Check("models", False, True, "missing: " + "; ".join(missing), fix)
    try:
        pipeline = Pipeline.from_config(loaded)
        result = pipeline.process(photo().copy())
    except Exception as exc:
        return Check("models", False, True, f"{type(exc).__name__}: {exc}", fix)
    if not result.faces:
        return Check(
            "models", False, True, "models ran but found no face in the bundled test photo", fix
        )
    f = result.faces[0]
    timing = ", ".join(f"{k} {v:.1f} ms" for k, v in result.timing_ms.items())
    return Check("models", True, True, f"test photo: face {f.emotion} {f.score:.2f}; {timing}")


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


def music_root(loaded) -> Path:
    from kiosk.usb_import.importer import resolve_paths

    return resolve_paths(loaded).music_root


def wanted_playlists(loaded) -> set[str]:
    policy = getattr(loaded.config, "policy", None)
    if hasattr(policy, "playlist_names"):
        return set(policy.playlist_names())
    names: set[str] = set()
    for value in vars(policy).values() if policy is not None else []:
        if isinstance(value, dict):
            names.update(v for v in value.values() if isinstance(v, str))
    default = getattr(policy, "default_playlist", None)
    if isinstance(default, str):
        names.add(default)
    return names


def check_music(loaded, max_probe: int = 40) -> Check:
    from kiosk.usb_import.audio_probe import probe

    if loaded.path is None:
        return Check("music", True, False, "built-in demo config: `kiosk run` generates demo music")

    root = music_root(loaded)
    exts = set(getattr(loaded.config.music, "extensions", None) or [])
    exts = exts or set(loaded.config.usb_import.extensions)
    fix = (
        f"put music in {root}/<playlist>/ (playlists: mood names from the policy section), "
        "e.g. with a USB stick holding kiosk-music/<playlist>/<files>, or `kiosk import PATH`"
    )
    if not root.is_dir():
        return Check("music", False, True, f"{root} does not exist", fix)
    counts: dict[str, int] = {}
    files: list[Path] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        found = [p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in exts]
        counts[d.name] = len(found)
        files += found
    if not files:
        return Check("music", False, True, f"no audio files under {root}", fix)
    # Probing every file on a big library is slow; a spread sample finds a bad batch.
    step = max(1, len(files) // max_probe)
    sample = files[::step][:max_probe]
    bad = [(p, why) for p in sample for kind, why in [probe(p)] if kind is None]
    empty = sorted(n for n in wanted_playlists(loaded) if not counts.get(n))
    detail = f"{len(files)} file(s) in {len(counts)} playlist(s) under {root}"
    if bad:
        p, why = bad[0]
        return Check(
            "music",
            False,
            True,
            f"{detail}; {len(bad)} of {len(sample)} sampled file(s) unplayable, e.g. "
            f"{p.relative_to(root)}: {why}",
            "replace the damaged files (a USB import checks every file)",
        )
    if empty:
        return Check(
            "music",
            False,
            False,
            f"{detail}; playlists with no music: {', '.join(empty)}",
            "add music for those playlists, or change the mapping in the policy section "
            "(moods without music fall back to the default playlist)",
        )
    return Check("music", True, True, detail)


def check_mqtt(loaded, timeout_s: float = 5.0) -> Check:
    cfg = loaded.config.mqtt
    if not cfg.enabled:
        return Check("mqtt", True, False, "MQTT disabled (mqtt.enabled: false)")
    from kiosk.usb_import.notify import connect_mqtt

    fix = (
        f"check mqtt.host/port ({cfg.host}:{cfg.port}) are reachable from here "
        "(`nc -vz HOST PORT`), the user name and password source, and TLS settings"
    )
    try:
        client = connect_mqtt(loaded, "check", timeout_s)
    except ConnectionError as exc:
        return Check("mqtt", False, True, str(exc), fix)
    client.disconnect()
    client.loop_stop()
    who = f" as {cfg.username}" if cfg.username else ""
    return Check("mqtt", True, True, f"connected to {cfg.host}:{cfg.port}{who}")


def check_disk(loaded) -> Check:
    root = music_root(loaded)
    probe_path = root if root.exists() else root.parent
    while not probe_path.exists():
        probe_path = probe_path.parent
    usage = shutil.disk_usage(probe_path)
    free_mb = usage.free / 1e6
    detail = f"{free_mb:.0f} MB free of {usage.total / 1e6:.0f} MB on {probe_path}"
    fix = "free space (old logs: `journalctl --vacuum-size=100M`; unused music) or a bigger card"
    if free_mb < DISK_FAIL_MB:
        return Check("disk", False, True, detail, fix)
    if free_mb < DISK_WARN_MB:
        return Check("disk", False, False, detail + " (a music import needs room)", fix)
    return Check("disk", True, True, detail)


def check_clock(now: float | None = None) -> Check:
    year = time.gmtime(now if now is not None else time.time()).tm_year
    fix = (
        "set the time (`timedatectl set-ntp true`, network access to an NTP server; a Pi has "
        "no battery clock, so it needs NTP after every power-up)"
    )
    if year < MIN_YEAR:
        return Check("clock", False, True, f"system clock says {year}", fix)
    synced = None
    if shutil.which("timedatectl"):
        try:
            out = subprocess.run(
                ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
                synced = out.stdout.strip() == "yes"
        except (OSError, subprocess.TimeoutExpired):
            pass
    if synced is False:
        return Check(
            "clock", False, False, "clock not NTP-synchronised (opening hours may drift)", fix
        )
    return Check(
        "clock",
        True,
        True,
        time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())
        + ("; NTP synchronised" if synced else "; NTP state unknown"),
    )


# -- command ----------------------------------------------------------------------------------
def config_failure(path: str | None, exc: Exception) -> Check:
    """The config check for a config that did not load: say what is wrong with the file."""
    example = "kiosk config example > FILE"
    if path is not None and not os.path.lexists(path):
        return Check(
            "config",
            False,
            True,
            f"config file {path} does not exist",
            f"check the --config path, or create the file ({example.replace('FILE', path)})",
        )
    if path is not None and not os.path.isfile(path):
        return Check("config", False, True, f"{path} is not a regular file", "pass a YAML file")
    problems = getattr(exc, "problems", [])
    if problems and all(p.startswith(("cannot read file", "file is not UTF-8")) for p in problems):
        return Check(
            "config",
            False,
            True,
            f"{path}: {'; '.join(problems)}",
            "make the file readable by this user (the service reads it as user kiosk), in UTF-8",
        )
    return Check("config", False, True, str(exc), "fix the keys named above")


def run_checks(loaded, skip: set[str]) -> list[Check]:
    cam_timeout = loaded.config.camera.open_timeout_s + 10
    aout, extra = player_aout(loaded)
    plan: list[tuple[str, Callable[[], Check], float, str]] = [
        ("camera", lambda: check_camera(loaded), cam_timeout, CAMERA_FIX["opencv"]),
        ("models", lambda: check_models(loaded), 60, "reinstall the models"),
        ("audio", lambda: audio_check(loaded, aout, extra), 20, "check the sound card"),
        ("music", lambda: check_music(loaded), 60, "check the music folder"),
        ("mqtt", lambda: check_mqtt(loaded), 15, "check the broker"),
        ("disk", lambda: check_disk(loaded), 10, "check the disk"),
        ("clock", check_clock, 10, "check the clock"),
    ]
    return [_with_timeout(fn, t, name, fix) for name, fn, t, fix in plan if name not in skip]


def run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(CHECK_NAMES)
    if unknown:
        print(f"kiosk check: unknown check(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    installed_default(args)
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        checks = [config_failure(args.config, exc)]
        _print(checks, args.json)
        return 2
    source = str(loaded.path) if loaded.path else "built-in defaults"
    checks = [Check("config", True, True, f"valid: {source}")]
    checks += run_checks(loaded, skip)
    _print(checks, args.json)
    return 0 if all(c.ok or not c.required for c in checks) else 1


def _print(checks: list[Check], as_json: bool) -> None:
    ok = all(c.ok or not c.required for c in checks)
    if as_json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}))
        return
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        print(f"{mark}  {c.name:<7} {c.detail}")
        if not c.ok and c.fix:
            print(f"      fix: {c.fix}")
    print("all required checks passed" if ok else "some required checks FAILED")
