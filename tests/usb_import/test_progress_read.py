"""The staff page learns of a USB import through the core, which reads the importer's file."""

from __future__ import annotations

import json
import time
from dataclasses import replace

from kiosk.config import load_config, parse_config
from kiosk.core.core import Core
from kiosk.usb_import.progress import FILE_NAME, STALE_S, ProgressFile, read_progress


def test_core_reports_a_recent_import_and_forgets_a_stale_one(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    cfg = parse_config({"usb_import": {"library_dir": str(lib)}})
    core = Core(replace(load_config(None), config=cfg), None, None)
    assert core.import_progress() is None  # no import yet

    ProgressFile(lib)({"state": "copying", "files_done": 3, "files_total": 9, "files": ["a", "b"]})
    got = core.import_progress()
    assert got is not None
    assert (got["state"], got["files_done"], got["files_total"]) == ("copying", 3, 9)
    assert got["files"] == 2  # counts only, never the names

    record = json.loads((lib / FILE_NAME).read_text())
    record["ts"] = time.time() - STALE_S - 1
    (lib / FILE_NAME).write_text(json.dumps(record))
    assert core.import_progress() is None


def test_damaged_progress_files_read_as_nothing(tmp_path):
    for junk in (b"", b"[1, 2]", b"{not json", b'{"ts": "soon"}', b"\xff\xfe"):
        (tmp_path / FILE_NAME).write_bytes(junk)
        assert read_progress(tmp_path) is None, junk
