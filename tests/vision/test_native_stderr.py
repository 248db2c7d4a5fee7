"""C-level stderr (LiteRT's XNNPACK line, libasound's noise) goes to the log, not the terminal."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.native_stderr import native_stderr_to_log

REPO = Path(__file__).resolve().parents[2]
DETECTOR = REPO / "models" / "face_detection_full_range.tflite"


def test_fd2_lines_become_log_records_and_fd2_is_restored(caplog):
    log = logging.getLogger("test.native")
    before = os.fstat(2)
    with caplog.at_level(logging.DEBUG, logger="test.native"), native_stderr_to_log(log) as cap:
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"ERROR: something real\n")
    assert cap.lines == [
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "ERROR: something real",
    ]
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels["INFO: Created TensorFlow Lite XNNPACK delegate for CPU."] == logging.DEBUG
    assert levels["ERROR: something real"] == logging.WARNING  # a real error still shows
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)


def test_lines_are_logged_even_when_the_block_raises(caplog):
    log = logging.getLogger("test.native")
    caught = pytest.raises(RuntimeError)
    with caplog.at_level(logging.DEBUG, logger="test.native"), caught, native_stderr_to_log(log):
        os.write(2, b"ERROR: Didn't find op for builtin opcode\n")
        raise RuntimeError("load failed")
    assert any("Didn't find op" in r.getMessage() for r in caplog.records)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_loading_a_model_prints_nothing_on_stderr_and_logs_the_delegate_line():
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout,\n"
        "                    format='%(levelname)s %(message)s')\n"
        "from kiosk.vision.runtime import TFLiteModel\n"
        f"TFLiteModel({str(DETECTOR)!r})\n"
    )
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "DEBUG INFO: Created TensorFlow Lite XNNPACK delegate" in r.stdout
