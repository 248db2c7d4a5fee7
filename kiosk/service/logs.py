"""Structured logs on stderr: ``key=value`` text or JSON lines.

Under systemd, stderr goes to the journal; there the timestamp is dropped (journald adds
its own) and each line starts with a ``<N>`` syslog priority so ``journalctl -p warning``
works (sd-daemon(3) prefixes). Add fields to a line with ``extra=fields(key=value)``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any, TextIO

_FIELDS = "kiosk_fields"
_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


def fields(**kv: Any) -> dict[str, Any]:
    """``extra=`` argument that attaches key/value pairs to a log line."""
    return {_FIELDS: kv}


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' ="\n\t'):
        return json.dumps(text)
    return text


def _timestamp(record: logging.LogRecord) -> str:
    t = time.gmtime(record.created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"


class KeyValueFormatter(logging.Formatter):
    def __init__(self, journal: bool = False) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        parts = [] if self.journal else [f"ts={_timestamp(record)}"]
        parts += [
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        parts += [f"{k}={_quote(v)}" for k, v in getattr(record, _FIELDS, {}).items()]
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        line = " ".join(parts)
        if self.journal:
            line = f"<{_PRIORITY.get(record.levelname, 6)}>{line}"
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        obj.update(getattr(record, _FIELDS, {}))
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, default=str)


def stderr_is_journal(stream: TextIO = sys.stderr) -> bool:
    """True when ``stream`` is the journal stream systemd connected (``$JOURNAL_STREAM``)."""
    want = os.environ.get("JOURNAL_STREAM", "")
    if not want:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return want == f"{st.st_dev}:{st.st_ino}"


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Replace the root handlers with one structured stderr handler."""
    stream = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(KeyValueFormatter(journal=stderr_is_journal(stream)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
