"""Self-sorting playlists: nearest places, corrections that persist and win, `music list`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audio_synth import music_like, sine, write_wav

from kiosk.cli import main
from kiosk.library.catalog import Catalog
from kiosk.library.config import DEFAULT_PLACES, SortingConfig
from kiosk.library.sorting import CorrectionError, Corrections, assign, nearest, views
from kiosk.music_analysis.service import Analyzer


def test_each_default_place_is_its_own_nearest():
    cfg = SortingConfig(join_margin=0.0)
    for name, (v, a) in DEFAULT_PLACES.items():
        assert nearest(v, a, cfg) == [name]


def test_quadrants_land_where_the_policy_expects():
    cfg = SortingConfig(join_margin=0.0)
    assert nearest(-0.7, 0.8, cfg) == ["energetic"]  # Q2: angry, intense
    assert nearest(-0.6, -0.6, cfg) == ["mellow"]  # Q3: sad, tender
    assert nearest(0.4, -0.9, cfg) == ["calm"]  # Q4


def test_join_margin_adds_close_playlists_up_to_max():
    cfg = SortingConfig(join_margin=2.0, max_playlists=3)
    assert len(nearest(0.0, 0.0, cfg)) == 3
    assert nearest(0.0, 0.0, SortingConfig(join_margin=0.0)) != []


def test_assignment_sources():
    cfg = SortingConfig()
    est = {"valence": 0.7, "arousal": 0.4}
    p = Path("/m/x.mp3")
    assert assign("calm", p, est, None, cfg).source == "folder"
    assert assign("calm", p, est, None, cfg).playlists == ["calm"]
    a = assign("unsorted", p, est, None, cfg)
    assert a.source == "estimate" and a.playlists[0] == "happy"
    c = assign("unsorted", p, est, "mellow", cfg)
    assert c.source == "correction" and c.playlists == ["mellow"]
    assert assign("calm", p, est, "upbeat", cfg).playlists == ["upbeat"]
    u = assign("unsorted", p, {"error": "damaged"}, None, cfg)
    assert u.playlists == [] and u.source == "unsorted"
    v = views([a, c, assign("calm", p, est, None, cfg)])
    assert v["happy"] == [p] and v["calm"] == [p]


def test_corrections_persist_atomically_and_survive_damage(tmp_path):
    c = Corrections(tmp_path)
    c.set("k1", "calm", "/m/a.mp3")
    assert Corrections(tmp_path).get("k1") == "calm"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".corrections.")]
    c.set("k1", None, "/m/a.mp3")
    assert Corrections(tmp_path).get("k1") is None
    (tmp_path / "music-corrections.json").write_text("{not json")
    assert Corrections(tmp_path).all() == {}
    assert (tmp_path / "music-corrections.damaged").exists()


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "music"
    (root / "calm").mkdir(parents=True)
    write_wav(root / "calm" / "a.wav", sine(5, 220))
    (root / "unsorted").mkdir()
    write_wav(root / "unsorted" / "b.wav", music_like(8))
    (root / "unsorted" / "bad.mp3").write_bytes(b"\xff\xfb" + bytes(100))
    return root


def test_catalog_retag_wins_and_survives_rename(tmp_path, library):
    state = tmp_path / "state"
    cat = Catalog(library, Analyzer(state), Corrections(state))
    by = {a.path.name: a for a in cat.assignments()}
    assert by["a.wav"].source == "folder" and by["a.wav"].playlists == ["calm"]
    assert by["b.wav"].source == "estimate" and by["b.wav"].playlists
    assert by["bad.mp3"].source == "unsorted" and "error" in by["bad.mp3"].estimate
    cat.retag("unsorted/b.wav", "calm")
    (library / "unsorted" / "b.wav").rename(library / "unsorted" / "renamed.wav")
    cat2 = Catalog(library, Analyzer(state), Corrections(state))
    by = {a.path.name: a for a in cat2.assignments()}
    assert by["renamed.wav"].source == "correction" and by["renamed.wav"].playlists == ["calm"]
    cat2.retag("unsorted/renamed.wav", "")
    by = {a.path.name: a for a in cat2.assignments()}
    assert by["renamed.wav"].source == "estimate"


@pytest.mark.parametrize(
    ("track", "playlist"),
    [
        ("../outside.wav", "calm"),
        ("/etc/passwd", "calm"),
        ("unsorted/missing.wav", "calm"),
        ("unsorted/b.wav", "no-such-list"),
        ("unsorted/b.wav", "unsorted"),
        ("", "calm"),
    ],
)
def test_retag_rejects_bad_input(tmp_path, library, track, playlist):
    (tmp_path / "outside.wav").write_bytes(b"RIFF")
    cat = Catalog(library, Analyzer(tmp_path / "s"), Corrections(tmp_path / "s"))
    with pytest.raises(CorrectionError):
        cat.retag(track, playlist)
    assert not (tmp_path / "s" / "music-corrections.json").exists()


def test_cli_list_and_retag(tmp_path, library, capsys, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"music:\n  root: {library}\nservice:\n  state_dir: {tmp_path / 'st'}\n")
    assert main(["music", "retag", "-c", str(cfg), "unsorted/b.wav", "mellow"]) == 0
    assert main(["music", "retag", "-c", str(cfg), "unsorted/b.wav", "nope"]) == 1
    capsys.readouterr()
    rc = main(["music", "list", "-c", str(cfg), "--json"])
    rows = {Path(r["path"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rc == 1  # bad.mp3 could not be analysed
    assert rows["b.wav"]["source"] == "correction" and rows["b.wav"]["playlists"] == ["mellow"]
    assert rows["a.wav"]["source"] == "folder" and rows["a.wav"]["quadrant"] in {
        "Q1", "Q2", "Q3", "Q4"}  # fmt: skip
    assert set(rows["bad.mp3"]) >= {"path", "folder", "playlists", "source", "error"}
