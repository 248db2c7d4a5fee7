"""Content-keyed cache, `kiosk music analyze` output and exit codes, the background worker."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from audio_synth import music_like, sine, write_wav

from kiosk.cli import main
from kiosk.music_analysis import service
from kiosk.music_analysis.mood_model import DEFAULT_MODEL, ModelError, MoodModel
from kiosk.music_analysis.service import Analyzer
from kiosk.music_analysis.worker import AnalysisWorker

KEYS = {"path", "duration_s", "lufs", "peak_db", "tempo_bpm", "valence", "arousal"}
KEYS |= {"quadrant", "confidence"}


@pytest.fixture
def counting(monkeypatch):
    """Counts real decodes (the analysis still runs)."""
    calls = []
    real = service.analyse

    def wrapped(path, model):
        calls.append(path)
        return real(path, model)

    monkeypatch.setattr(service, "analyse", wrapped)
    return calls


def test_cache_hit_on_rename_and_restart_miss_on_change(tmp_path, counting):
    state = tmp_path / "state"
    p = write_wav(tmp_path / "a.wav", music_like(8))
    an = Analyzer(state)
    first = an.analyse_path(p)
    assert len(counting) == 1
    assert an.analyse_path(p) == first and len(counting) == 1
    an.close()
    renamed = p.rename(tmp_path / "renamed.wav")
    an = Analyzer(state)  # a restart
    again = an.analyse_path(renamed)
    assert len(counting) == 1, "a renamed file must not be decoded again"
    assert {**again, "path": first["path"]} == first
    write_wav(renamed, sine(8, peak_db=-6))  # changed content
    changed = an.analyse_path(renamed)
    assert len(counting) == 2 and changed["lufs"] != first["lufs"]
    an.close()


def test_cache_survives_a_garbage_row(tmp_path, counting):
    import sqlite3

    state = tmp_path / "s"
    p = write_wav(tmp_path / "a.wav", music_like(5))
    Analyzer(state).analyse_path(p)
    db = sqlite3.connect(state / service.CACHE_FILE)
    with db:
        db.execute("UPDATE results SET result = 'not json{'")
    db.close()
    r = Analyzer(state).analyse_path(p)
    assert "lufs" in r and len(counting) == 2


def test_cli_json_lines_errors_and_exit_code(tmp_path, capsys, monkeypatch, ffmpeg):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    lib = tmp_path / "lib"
    lib.mkdir()
    write_wav(lib / "good.wav", music_like(6))
    (lib / "empty.mp3").write_bytes(b"")
    (lib / "junk.flac").write_bytes(os.urandom(4000))
    (lib / "notes.txt").write_text("not audio, not listed")
    weird = os.fsencode(lib) + b"/caf\xe9-\xff.wav"  # Latin-1 bytes: not UTF-8
    write_wav(Path(os.fsdecode(weird)), sine(4))
    write_wav(lib / "音楽 ünï.wav", sine(4))
    rc = main(["music", "analyze", "--json", str(lib), str(tmp_path / "missing.ogg")])
    out = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in out]
    assert rc == 1
    assert len(rows) == 6
    by = {Path(r["path"]).name: r for r in rows}
    assert set(by["good.wav"]) == KEYS
    assert set(by["empty.mp3"]) == {"path", "error"}
    assert set(by["junk.flac"]) == {"path", "error"}
    assert set(by["missing.ogg"]) == {"path", "error"}
    assert by["音楽 ünï.wav"]["lufs"] is not None
    assert any("\ufffd" in name for name in by)  # the undecodable name, shown, not lost
    assert re.fullmatch(r"Q[1-4]", by["good.wav"]["quadrant"])


def test_fifo_and_folder_given_as_file_are_errors_not_hangs(tmp_path):
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    an = Analyzer(tmp_path / "state")
    assert an.analyse_path(fifo) == {"path": str(fifo), "error": "not a regular file"}
    assert "error" in an.analyse_path(tmp_path / "nope.wav")


def test_cli_all_good_exits_0_and_prints_text(tmp_path, capsys):
    p = write_wav(tmp_path / "a.wav", music_like(5))
    assert main(["music", "analyze", "--no-cache", str(p)]) == 0
    assert "LUFS" in capsys.readouterr().out


@pytest.mark.parametrize("isolate", [False, True], ids=["thread", "child-process"])
def test_worker_analyses_in_background_and_survives_bad_files(tmp_path, isolate):
    good = write_wav(tmp_path / "g.wav", music_like(5))
    bad = tmp_path / "b.mp3"
    bad.write_bytes(b"\xff\xfb" + os.urandom(3000))
    seen = []

    def on_result(path, r):
        seen.append((path, r))
        if len(seen) == 1:
            raise RuntimeError("a callback bug must not kill the worker")

    w = AnalysisWorker(tmp_path / "state", on_result=on_result, isolate=isolate)
    w.start()
    try:
        assert w.submit([good, bad, tmp_path]) == 2  # the folder adds nothing new
        assert w.wait_idle(120)
        p = w.progress()
        assert p == {"queued": 0, "done": 2, "failed": 1, "busy": False, "internal_errors": 1}
        assert {path for path, _ in seen} == {good, bad}
        assert "lufs" in dict(seen)[good] and "error" in dict(seen)[bad]
        if isolate:
            # A rescan of unchanged files is served from the cache in the worker itself.
            from kiosk.music_analysis import worker as worker_mod

            def no_child(*a, **k):
                raise AssertionError("a cache hit must not start an analyser")

            worker_mod.subprocess.Popen, real = no_child, worker_mod.subprocess.Popen
            try:
                w.submit([good, bad])
                assert w.wait_idle(60)
            finally:
                worker_mod.subprocess.Popen = real
            p = w.progress()
            assert p["done"] == 4 and p["failed"] == 2 and p["internal_errors"] == 1
    finally:
        w.stop()
    assert Analyzer(tmp_path / "state").cache.count() == 2  # the child wrote the same cache


def test_worker_survives_a_dying_analyser(tmp_path):
    files = [write_wav(tmp_path / f"{i}.wav", sine(2)) for i in range(3)]
    broken = tmp_path / "model.json"
    broken.write_text("{}")  # the child exits 2 before analysing anything
    w = AnalysisWorker(tmp_path / "state", isolate=True, model_path=broken)
    w.start()
    try:
        w.submit(files)
        assert w.wait_idle(120)
        assert w.progress()["done"] == 3 and w.progress()["failed"] == 3
    finally:
        w.stop()


def test_model_file_matches_its_card():
    readme = (DEFAULT_MODEL.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("music_mood.json") :]
    card_sha = re.search(r"`([0-9a-f]{64})`", section).group(1)
    assert hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest() == card_sha
    m = MoodModel.load()
    assert m.sha256 == card_sha and len(m.features) > 50


@pytest.mark.parametrize(
    "text",
    ["", "[]", '{"format": "kiosk-music-mood/2"}', "\xff\xfe", '{"format": "other"}'],
)
def test_bad_model_files_give_model_error(tmp_path, text):
    p = tmp_path / "m.json"
    p.write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff\xfe" else b"\xff\xfe")
    with pytest.raises(ModelError):
        MoodModel.load(p)


def test_bad_model_shapes_give_model_error(tmp_path):
    data = json.loads(DEFAULT_MODEL.read_text())
    data["coef"] = data["coef"][:3]
    p = tmp_path / "m.json"
    p.write_text(json.dumps(data))
    with pytest.raises(ModelError):
        MoodModel.load(p)


def test_quantile_map_is_monotone_clamped_and_tie_safe():
    import numpy as np

    from kiosk.music_analysis.mood_model import normal_knots, quantile_normal

    knots = normal_knots(5)
    q = np.array([[0.0, 1.0, 1.0, 1.0, 2.0]])  # a feature with a tie at 1.0
    x = np.array([[-5.0], [0.0], [0.5], [1.0], [1.5], [2.0], [9.0]])
    z = quantile_normal(x, q, knots)[:, 0]
    assert np.all(np.diff(z) >= 0)
    assert z[0] == z[1] == pytest.approx(knots[0]) and z[-1] == z[-2] == pytest.approx(knots[-1])
    assert z[3] == pytest.approx(0.0)  # the tie maps to the middle of its knots
    assert knots[0] == pytest.approx(-2.326, abs=1e-3)


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["music"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["music", "analyze"])
    assert exc.value.code == 2
    bad = tmp_path / "m.json"
    bad.write_text("[]")
    p = write_wav(tmp_path / "a.wav", sine(4))
    assert main(["music", "analyze", "--no-cache", "--model", str(bad), str(p)]) == 2
    assert "not a JSON object" in capsys.readouterr().err


def test_cache_survives_sigkill_mid_run(tmp_path):
    import signal
    import sqlite3
    import subprocess
    import sys

    n = 10  # ~1.5 s of work after the first result: the kill lands mid-run
    files = [write_wav(tmp_path / f"{i}.wav", music_like(10, seed=i)) for i in range(n)]
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "kiosk", "music", "analyze", "--json", "--cache-dir", str(cache)]
    proc = subprocess.Popen([*cmd, *map(str, files)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # one result written (and committed), the next one under way
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = sqlite3.connect(cache / service.CACHE_FILE)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    done_before = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    db.close()
    assert 1 <= done_before < n
    res = subprocess.run([*cmd, *map(str, files)], capture_output=True, check=False)
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 0 and len(rows) == n and all("lufs" in r for r in rows)
