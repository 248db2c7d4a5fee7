"""Route what C/C++ libraries print on file descriptor 2 into the Python log.

LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` when a model
loads, and libasound prints a hundred ``ALSA lib ...`` lines when VLC probes a machine
without a sound card. Both write straight to fd 2, below Python's ``sys.stderr``, so
logging cannot filter them. Around such a call, fd 2 is pointed at an anonymous temporary
file; afterwards each captured line is logged: known chatter at DEBUG, anything else at
WARNING, so a real error from the library still shows.

fd 2 belongs to the whole process: whatever another thread writes to stderr during the
capture is caught too and re-logged at WARNING with its text, not lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

_lock = threading.RLock()
MAX_LINES = 200  # a library that prints thousands of lines gets a count, not a flood


@dataclass
class Captured:
    """The lines captured from fd 2 (filled when the ``with`` block ends)."""

    lines: list[str] = field(default_factory=list)


@contextlib.contextmanager
def native_stderr_to_log(
    logger: logging.Logger, chatter: tuple[str, ...] = ("INFO: ",)
) -> Iterator[Captured]:
    """Capture fd 2 for the duration of the block; log the lines to ``logger``.

    Lines starting with one of ``chatter`` are logged at DEBUG, other lines at WARNING.
    If fd 2 cannot be redirected (closed, no temp dir), the block runs uncaptured.
    """
    captured = Captured()
    with _lock:
        try:
            sink = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)  unlinked at once: nothing stays on disk
        except OSError:
            sink = None
        saved = -1
        if sink is not None:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
                os.dup2(sink.fileno(), 2)
            except (OSError, ValueError, AttributeError):
                if saved >= 0:
                    os.close(saved)
                saved = -1
        try:
            yield captured
        finally:
            if saved >= 0:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
            if sink is not None:
                # Logged even when the block raised: the library's own error text is the clue.
                with sink:
                    if saved >= 0:
                        sink.seek(0)
                        text = sink.read().decode("utf-8", errors="replace")
                        captured.lines = [ln for ln in text.splitlines() if ln.strip()]
                _log_lines(logger, captured.lines, chatter)


def _log_lines(logger: logging.Logger, lines: list[str], chatter: tuple[str, ...]) -> None:
    for line in lines[:MAX_LINES]:
        level = logging.DEBUG if line.startswith(chatter) else logging.WARNING
        logger.log(level, "%s", line)
    if len(lines) > MAX_LINES:
        logger.debug("%d more native stderr line(s) not shown", len(lines) - MAX_LINES)
