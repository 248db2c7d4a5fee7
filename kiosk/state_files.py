"""Small JSON state files (block list, retag corrections, import progress) written so a
crash or power cut leaves either the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_json_atomic(
    path: Path,
    data: Any,
    prefix: str,
    *,
    mode: int | None = None,
    fsync: bool = True,
    sync_dir: bool = False,
    **dump: Any,
) -> None:
    """Write ``data`` as JSON to a temp file beside ``path``, then rename it over ``path``.

    ``mkstemp`` never follows or reuses an existing name and ``rename`` replaces a planted
    link rather than writing through it. ``sync_dir`` also syncs the folder, so the rename
    itself survives a power cut. Raises ``OSError``; the temp file is removed on failure.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, **dump)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_dir:
        with contextlib.suppress(OSError):
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
