"""The fd-relative tree removal that stands in for shutil.rmtree(dir_fd=) on Python 3.10."""

from __future__ import annotations

import os

import pytest

from kiosk.usb_import.store_fs import open_dir, remove_at, rmtree_at


def tree(root):
    outside = root / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep.txt").write_text("x")
    top = root / "lib" / "v1"
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "a" / "1.mp3").write_bytes(b"1")
    (top / "a" / "b" / "c" / "2.mp3").write_bytes(b"2")
    (top / "a" / "dirlink").symlink_to(outside)
    (top / "filelink").symlink_to(outside / "keep.txt")
    (top / "dangling").symlink_to(root / "nowhere")
    return outside


@pytest.mark.parametrize("remove", [rmtree_at, remove_at])
def test_a_tree_goes_and_links_in_it_are_not_followed(tmp_path, remove):
    outside = tree(tmp_path)
    fd = open_dir(tmp_path / "lib")
    try:
        remove(fd, "v1")
    finally:
        os.close(fd)
    assert os.listdir(tmp_path / "lib") == []
    assert (outside / "keep").is_dir() and (outside / "keep.txt").read_text() == "x"


def test_a_link_in_place_of_the_tree_is_refused(tmp_path):
    outside = tree(tmp_path)
    (tmp_path / "lib" / "swapped").symlink_to(outside)
    fd = open_dir(tmp_path / "lib")
    try:
        with pytest.raises(OSError):
            rmtree_at(fd, "swapped")
    finally:
        os.close(fd)
    assert (outside / "keep.txt").exists()
