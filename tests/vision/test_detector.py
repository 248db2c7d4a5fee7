"""The real BlazeFace model on the real photograph and on frames composed from it."""

import numpy as np
import pytest

from kiosk.camera.compose import PHOTO_FACE, background, crowd_frame
from kiosk.vision.config import DetectorConfig
from kiosk.vision.detector import (
    FaceDetector,
    letterbox,
    tile_windows,
    weighted_nms,
)
from kiosk.vision.runtime import ModelError, TFLiteModel


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


def covers(box, face):
    """The detected box is on the face: centres close, sizes comparable."""
    x, y, w, h = box
    fx, fy, fw, fh = face
    close = (
        abs(x + w / 2 - (fx + fw / 2)) < fw * 0.35 and abs(y + h / 2 - (fy + fh / 2)) < fh * 0.35
    )
    return close and 0.6 < w / fw < 1.6


@pytest.fixture(scope="module")
def model(default_loaded):
    return TFLiteModel(default_loaded.resolve(default_loaded.config.vision.detector.model))


def detector(model, **tiling):
    return FaceDetector(model, DetectorConfig(tiling=tiling or {}))


def test_finds_the_face_in_the_real_photograph(model, astronaut):
    faces = detector(model).detect(astronaut)
    assert len(faces) == 1
    assert faces[0].score > 0.8
    assert iou(faces[0].box, PHOTO_FACE) > 0.7


def test_empty_scene_has_no_faces(model):
    assert detector(model).detect(background(1280, 720, seed=3)) == []


@pytest.mark.parametrize("seed", range(4))
def test_every_face_in_a_crowd_at_several_scales(model, seed):
    rng = np.random.default_rng(seed)
    sizes = [60, 200] + [int(rng.integers(60, 201)) for _ in range(int(rng.integers(0, 5)))]
    frame, placed = crowd_frame(1280, 720, sizes, seed=seed)
    faces = detector(model).detect(frame)
    assert len(faces) == len(placed), (sizes, [f.box for f in faces])
    for p in placed:
        assert any(covers(f.box, p.box) for f in faces), (p.box, [f.box for f in faces])


def test_tiling_is_what_finds_distant_faces(model):
    frame, _placed = crowd_frame(1280, 720, [60, 60, 60, 60], seed=11)
    whole = detector(model, mode="off").detect(frame)
    tiled = detector(model, mode="grid", rows=2, cols=2).detect(frame)
    assert len(tiled) == 4
    assert len(whole) < len(tiled)


def test_min_face_size_filters_small_faces(model):
    frame, _ = crowd_frame(1280, 720, [60, 160], seed=5)
    det = FaceDetector(model, DetectorConfig(min_face_px=100))
    faces = det.detect(frame)
    assert len(faces) == 1 and faces[0].box[2] >= 100


def test_boxes_map_back_through_the_letterbox(model, astronaut):
    # Same face, padded into a tall frame: the box must move by the padding only.
    tall = np.zeros((900, 512, 3), np.uint8)
    tall[200:712] = astronaut
    (face,) = detector(model, mode="off").detect(tall)
    assert iou(face.box, (PHOTO_FACE[0], PHOTO_FACE[1] + 200, PHOTO_FACE[2], PHOTO_FACE[3])) > 0.7


def test_letterbox_pads_and_scales():
    img = np.full((100, 400, 3), 255, np.uint8)
    square, scale, px, py = letterbox(img, 192)
    assert square.shape == (192, 192, 3)
    assert scale == pytest.approx(0.48) and px == 0 and py == 72
    assert square[0, 0].sum() == 0 and square[96, 96].sum() == 765


def test_weighted_nms_blends_overlaps_and_keeps_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    out, s = weighted_nms(boxes, scores, 0.3, 10)
    assert len(out) == 2 and s[0] == pytest.approx(0.9)
    assert 0 < out[0][0] < 1  # blended towards the second box


def test_tiles_cover_the_frame_with_overlap():
    tiles = tile_windows(1280, 720, 2, 3, 0.2)
    assert len(tiles) == 6
    assert min(x for x, _, _, _ in tiles) == 0 and max(x + w for x, _, w, _ in tiles) == 1280
    assert max(y + h for _, y, _, h in tiles) == 720
    (x0, _, w0, _), (x1, _, _, _) = tiles[0], tiles[1]
    assert x1 < x0 + w0  # neighbours overlap


def test_wrong_model_is_refused(default_loaded):
    emotion = TFLiteModel(default_loaded.resolve(default_loaded.config.vision.classifier.model))
    with pytest.raises(ModelError, match="BlazeFace"):
        FaceDetector(emotion, DetectorConfig())
