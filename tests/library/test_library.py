"""Library scanning on real files: what counts as audio, tags, change detection, symlink swap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from music_helpers import write_garbage, write_mp3, write_tone

from kiosk.library.config import MusicConfig
from kiosk.library.library import Library
from kiosk.library.tracks import names_from_filename


def test_scan_finds_audio_only(tmp_path: Path) -> None:
    root = tmp_path / "music"
    write_tone(root / "calm" / "b.wav", 440, 0.2)
    write_mp3(root / "calm" / "Album" / "CD1" / "a.MP3")
    for junk in ["cover.jpg", "notes.txt", "list.m3u", ".hidden.mp3", "desktop.ini"]:
        (root / "calm" / junk).write_bytes(b"x" * 10)
    (root / "calm" / "empty.ogg").write_bytes(b"")  # a half-copied file
    write_mp3(root / "calm" / ".Trashes" / "old.mp3")
    write_mp3(root / ".staging" / "x.mp3")
    (root / "readme.txt").write_text("not a playlist")
    (root / "empty").mkdir()
    lib = Library(root)
    lists = lib.playlists()
    assert sorted(lists) == ["calm", "empty"]
    assert [t.path.name for t in lists["calm"]] == ["a.MP3", "b.wav"]
    assert lists["empty"] == [] and lib.tracks("nope") == []


def test_tags_are_read_and_file_names_are_the_fallback(tmp_path: Path) -> None:
    root = tmp_path / "music"
    write_mp3(root / "p" / "1.mp3", title="Blue Room", artist="The Testers")
    write_mp3(root / "p" / "03 - Ada Lovelace - Engine Song.mp3")
    write_garbage(root / "p" / "broken_tags.mp3")
    tracks = {t.path.name: t for t in Library(root).tracks("p")}
    t = tracks["1.mp3"]
    assert (t.title, t.artist, t.display) == ("Blue Room", "The Testers", "The Testers - Blue Room")
    assert t.duration_s and 0.9 < t.duration_s < 1.2  # 40 frames of 26 ms
    t = tracks["03 - Ada Lovelace - Engine Song.mp3"]
    assert (t.title, t.artist) == ("Engine Song", "Ada Lovelace")
    t = tracks["broken_tags.mp3"]  # unreadable tags: still listed (the player decides)
    assert (t.title, t.artist) == ("broken tags", None)


@pytest.mark.parametrize(
    ("name", "title", "artist"),
    [
        ("Song.ogg", "Song", None),
        ("07. Song.ogg", "Song", None),
        ("Band - Song - Live.ogg", "Song - Live", "Band"),
        ("2024.ogg", "2024", None),
        (" - .ogg", "-", None),
    ],
)
def test_names_from_filename(name: str, title: str, artist: str | None) -> None:
    assert names_from_filename(Path(name)) == (title, artist)


def test_changes_are_noticed_cheaply(tmp_path: Path) -> None:
    root = tmp_path / "music"
    write_tone(root / "a" / "1.wav", 440, 0.2)
    lib = Library(root)
    assert not lib.refresh_if_changed()
    write_tone(root / "a" / "deep" / "2.wav", 440, 0.2)
    assert lib.refresh_if_changed() and len(lib.tracks("a")) == 2
    assert not lib.refresh_if_changed()
    write_tone(root / "a" / "1.wav", 440, 0.3)  # replaced in place
    assert lib.refresh_if_changed()
    (root / "a" / "deep" / "2.wav").unlink()
    assert lib.refresh_if_changed() and [t.path.name for t in lib.tracks("a")] == ["1.wav"]
    write_tone(root / "b" / "1.wav", 440, 0.2)
    assert lib.refresh_if_changed() and sorted(lib.playlists()) == ["a", "b"]
    (root / "a" / "notes.txt").write_text("ignored")
    assert not lib.refresh_if_changed()


def test_missing_root_is_empty_until_it_appears(tmp_path: Path) -> None:
    lib = Library(tmp_path / "music")
    assert lib.playlists() == {} and not lib.refresh_if_changed()
    write_tone(tmp_path / "music" / "a" / "1.wav", 440, 0.2)
    assert lib.refresh_if_changed() and len(lib.tracks("a")) == 1


def test_symlink_root_swap_is_followed(tmp_path: Path) -> None:
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    write_tone(v1 / "a" / "old.wav", 440, 0.2)
    write_tone(v2 / "a" / "new.wav", 440, 0.2)
    root = tmp_path / "music"
    root.symlink_to(v1)
    lib = Library(root)
    assert [t.path for t in lib.tracks("a")] == [v1 / "a" / "old.wav"]
    tmp_link = tmp_path / ".music.new"
    tmp_link.symlink_to(v2)
    os.replace(tmp_link, root)  # how the importer swaps versions: atomic rename
    assert lib.refresh_if_changed()
    assert [t.path for t in lib.tracks("a")] == [v2 / "a" / "new.wav"]


def test_unreadable_folder_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    root = tmp_path / "music"
    write_tone(root / "a" / "ok.wav", 440, 0.2)
    write_tone(root / "a" / "locked" / "x.wav", 440, 0.2)
    (root / "a" / "locked").chmod(0)
    try:
        assert [t.path.name for t in Library(root).tracks("a")] == ["ok.wav"]
    finally:
        (root / "a" / "locked").chmod(0o755)


def test_extensions_config_is_normalised() -> None:
    assert MusicConfig(extensions=["MP3", ".Ogg"]).extensions == [".mp3", ".ogg"]
    with pytest.raises(ValueError):
        MusicConfig(extensions=["a/b"])
