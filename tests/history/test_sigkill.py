"""A SIGKILL while the recorder writes leaves a readable history with every commit in it."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

WRITER = textwrap.dedent(
    """
    import json, sys, time
    from kiosk.core.events import Event
    from kiosk.history.config import HistoryConfig
    from kiosk.history.recorder import Recorder

    def committed(c):
        print(json.dumps(c), flush=True)

    rec = Recorder(sys.argv[1], HistoryConfig(commit_s=1), 2.0, on_commit=committed)
    rec.start()
    ts = 1_795_680_000.0
    while True:  # as fast as it goes: the kill lands in the middle of writes
        for _ in range(50):
            rec.on_event(Event("sample", {"faces": 1, "emotions": {"happy": 1}}, ts))
            rec.on_event(Event("fault", {"component": "camera", "message": "x", "ok": False}, ts))
            ts += 2.0
        time.sleep(0.001)
    """
)


def test_sigkill_mid_write_leaves_a_readable_history(tmp_path):
    path = tmp_path / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    last = None
    try:
        deadline = time.monotonic() + 60
        commits = 0
        while commits < 3 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            last = json.loads(line)
            commits += 1
        assert commits == 3, "the writer did not commit"
        time.sleep(0.3)  # mid-way to the next commit, queue full of rows
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    samples = db.execute("SELECT COALESCE(SUM(samples), 0) FROM minutes").fetchone()[0]
    faults = db.execute("SELECT COUNT(*) FROM faults").fetchone()[0]
    db.close()
    assert samples >= last["samples"] > 0  # everything committed before the kill is there
    assert faults >= last["samples"]  # written in the same transactions
    # and the kiosk carries on writing into the same file after the restart
    from kiosk.core.events import Event
    from kiosk.history.config import HistoryConfig
    from kiosk.history.recorder import Recorder

    rec = Recorder(path, HistoryConfig(), 2.0)
    rec.start()
    rec.on_event(Event("sample", {"faces": 1, "emotions": {"happy": 1}}, 1_900_000_000.0))
    rec.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT SUM(samples) FROM minutes").fetchone()[0] == samples + 1
    assert not list(tmp_path.glob("*.corrupt-*"))
    db.close()
