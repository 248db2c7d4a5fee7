"""`kiosk analyze`, `kiosk eval` and `kiosk bench` as a user runs them."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from kiosk.camera.compose import PHOTO_FACE, crowd_frame, photo

ROOT = Path(__file__).resolve().parents[2]


def kiosk(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    frame, _ = crowd_frame(1280, 720, [80, 120, 160], seed=4)
    cv2.imwrite(str(d / "b_crowd.jpg"), frame)
    cv2.imwrite(str(d / "a_photo.png"), photo())
    (d / "c_broken.jpg").write_bytes(b"\xff\xd8 truncated")
    return d


def test_analyze_json_one_object_per_image(images):
    r = kiosk("analyze", str(images), "--json")
    assert r.returncode == 1  # one image is unreadable
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [Path(x["image"]).name for x in lines] == ["a_photo.png", "b_crowd.jpg", "c_broken.jpg"]
    photo_rec, crowd, broken = lines
    assert photo_rec["width"] == 512 and len(photo_rec["faces"]) == 1
    face = photo_rec["faces"][0]
    assert set(face) == {"box", "score", "emotion", "scores"}
    assert face["emotion"] == "happy" and len(face["box"]) == 4
    assert set(photo_rec["timing_ms"]) == {"detect", "classify"}
    assert len(crowd["faces"]) == 3
    assert "error" in broken


def test_analyze_faces_mode_skips_detection(tmp_path):
    x, y, w, h = PHOTO_FACE
    crop = photo()[y - 10 : y + h + 10, x - 10 : x + w + 10]
    cv2.imwrite(str(tmp_path / "crop.png"), crop)
    r = kiosk("analyze", "--faces", "--json", str(tmp_path / "crop.png"))
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["faces"][0]["box"] == [0, 0, crop.shape[1], crop.shape[0]]
    assert rec["faces"][0]["emotion"] == "happy"


def test_analyze_table_output(images):
    r = kiosk("analyze", str(images / "a_photo.png"))
    assert r.returncode == 0 and "1 face(s)" in r.stdout and "happy" in r.stdout


def test_eval_reports_accuracy_recall_confusion(tmp_path):
    x, y, w, h = PHOTO_FACE
    crop = photo()[y : y + h, x : x + w]
    for label in ("happy", "sad", "disgust"):
        (tmp_path / label).mkdir()
        cv2.imwrite(str(tmp_path / label / "1.png"), crop)
    r = kiosk("eval", str(tmp_path), "--restrict", "happy,sad", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["labels"] == ["happy", "sad"] and out["images"] == 2
    assert out["recall"]["happy"] == 1.0 and out["accuracy"] == 0.5
    assert out["confusion"] == [[1, 0], [1, 0]]
    text = kiosk("eval", str(tmp_path), "--restrict", "happy,sad")
    assert "confusion" in text.stdout and "accuracy" in text.stdout
    missing = kiosk("eval", str(tmp_path), "--exclude", "disgust")
    assert missing.returncode == 2 and "no subfolder" in missing.stderr


def test_bench_reports_ratio_to_invoke():
    r = kiosk("bench", "--frames", "3", "--warmup", "1", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ratio_pipeline_to_invoke"] >= 1.0
    assert {"decode", "detect", "classify_per_face"} <= set(out["stages_ms"])


def test_nothing_in_the_package_writes_images():
    """Privacy: no code path can save a frame or a crop."""
    for path in (ROOT / "kiosk").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for forbidden in ("imwrite", "VideoWriter", ".tofile("):
            assert forbidden not in text, f"{path} uses {forbidden}"
