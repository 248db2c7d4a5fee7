"""What an import reports and where it works: results, paths, the stop request."""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kiosk.library.config import music_root
from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.scan import MB, ImportFailed, SkipList, Skipped


class Interrupted(ImportFailed):
    """SIGTERM/SIGINT arrived; the import stopped at a safe point."""

    def __init__(self, signum: int):
        self.signum = signum
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} (stick pulled out or service stopped)")


class StopRequest:
    """Signal handlers only note the signal; the copy loop stops at its next check, so the
    final switch is never cut in half and the failure is reported like any other."""

    def __init__(self) -> None:
        self.signum = 0

    def handler(self, signum: int, _frame) -> None:
        self.signum = self.signum or signum

    def install(self) -> None:
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, self.handler)

    def check(self) -> None:
        if self.signum:
            raise Interrupted(self.signum)


@dataclass
class ImportResult:
    ok: bool
    action: str  # import | rollback
    mode: str = ""
    source: str = ""
    version: str = ""
    previous: str = ""
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=SkipList)
    error: str = ""
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""
    signal: str = ""  # SIGTERM/SIGINT when the import was stopped

    @property
    def skipped_count(self) -> int:
        """All skipped files; ``skipped`` names only the first ``MAX_LISTED``."""
        return getattr(self.skipped, "total", len(self.skipped))

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MB / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mb_per_s"] = round(self.mb_per_s, 2)
        d["skipped_count"] = self.skipped_count
        d["seconds"] = round(self.seconds, 3)
        return d

    def summary(self) -> str:
        if not self.ok:
            return f"{self.action} failed: {self.error} (live library unchanged)"
        if self.action == "rollback":
            return f"rolled back: live library is {self.version} (previous {self.previous})"
        if self.files == 0:
            return f"nothing to do: this stick already made the live library {self.version}"
        return (
            f"imported {self.files} file(s), {self.bytes / MB:.1f} MB in {self.seconds:.1f} s "
            f"({self.mb_per_s:.1f} MB/s), mode {self.mode}, version {self.version}, "
            f"{self.skipped_count} skipped"
        )


@dataclass
class Paths:
    music_root: Path
    library_dir: Path


def resolve_paths(loaded) -> Paths:
    """Where the live library and its versions are, from a ``LoadedConfig``."""
    cfg: ImportConfig = loaded.config.usb_import
    root = music_root(loaded, cfg.music_root)
    library_dir = (
        loaded.resolve(cfg.library_dir) if cfg.library_dir else root.parent / ".kiosk-library"
    )
    return Paths(root, library_dir)


def find_music_folder(path: Path, cfg: ImportConfig) -> Path | None:
    """``PATH`` may be the stick's mount point or its kiosk-music folder itself."""
    inner = path / cfg.stick_folder
    if inner.is_dir() and not inner.is_symlink():
        return inner
    if path.name == cfg.stick_folder and path.is_dir():
        return path
    return None
