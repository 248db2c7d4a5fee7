"""The USB import's progress as a small JSON file the staff page reads.

Written next to the library versions (``<library_dir>/import-progress.json``), atomically
and at most once a second (always for the final record), so a page never reads half a
record and a big import is not slowed down by it. Best effort: a write that fails is
logged once and the import goes on.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from kiosk.state_files import write_json_atomic

log = logging.getLogger(__name__)

FILE_NAME = "import-progress.json"
STALE_S = 6 * 3600.0  # a finished import stops being news after this


class ProgressFile:
    def __init__(self, library_dir: Path) -> None:
        self.path = library_dir / FILE_NAME
        self._last = 0.0
        self._warned = False

    def __call__(self, event: dict[str, Any]) -> None:
        final = event.get("state") in ("done", "failed", "started")
        now = time.monotonic()
        if not final and now - self._last < 1.0:
            return
        self._last = now
        record = {"ts": time.time(), **event}
        try:
            # Not fsynced: a progress note lost to a power cut costs nothing.
            write_json_atomic(
                self.path, record, ".import-progress-", mode=0o640, fsync=False, default=str
            )
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("import progress file %s not written: %s", self.path, exc)


def read_progress(library_dir: Path) -> dict[str, Any] | None:
    """The last progress record, if recent; None when there is none or it cannot be read.
    Counts only: the list of copied files is given as its length."""
    try:
        data = json.loads((library_dir / FILE_NAME).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            return None
        if time.time() - float(data.get("ts", 0)) > STALE_S:
            return None
    except (OSError, ValueError, TypeError):
        return None
    keep = ("state", "files_done", "files_total", "bytes_total", "error", "ts", "files")
    out = {k: data[k] for k in keep if k in data}
    if isinstance(out.get("files"), list):
        out["files"] = len(out["files"])
    return out
