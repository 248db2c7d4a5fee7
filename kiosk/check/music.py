"""The music and disk checks: the playlists the policy names have playable files, and the
music folder's disk has room for an import."""

from __future__ import annotations

import shutil
from pathlib import Path

from kiosk.check.result import Check
from kiosk.library.config import music_root as _music_root

DISK_FAIL_MB = 100
DISK_WARN_MB = 1000


def wanted_playlists(loaded) -> set[str]:
    return set(loaded.config.policy.playlist_names())


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


def music_root(loaded) -> Path:
    """The music folder the kiosk plays and the USB import fills."""
    return _music_root(loaded, loaded.config.usb_import.music_root)
