"""The shipped emotion models (scripts/training/train_emotion.py, emotion_export.py) on real inputs.

Only the runtime (ai-edge-litert) is needed: no torch, no TensorFlow, no FER2013 data. The
accuracy gates are measured on FER+ and wild_train, which the repository may not hold, by
scripts/training/emotion_compare.py; its record (models/training/compare_issue24.json) names the
measured files by sha256, and the gate tests here hold the shipped default to it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from kiosk.config import KioskConfig
from kiosk.core.api import EMOTIONS
from kiosk.vision.classifier import EmotionClassifier, crop_face, load_meta
from kiosk.vision.runtime import TFLiteModel

MODELS = Path(__file__).resolve().parents[1] / "models"
INT8 = MODELS / "emotion_cnn_int8.tflite"
FLOAT = MODELS / "emotion_cnn_float.tflite"
REAL = MODELS / "emotion_cnn_real_int8.tflite"
RECORD = MODELS / "training" / "compare_issue24.json"
# Gates on FER+ majority labels (6 classes, disgust left out), issue 24. FER2013's own
# labels are reported in the record, not gated: they agree with the FER+ majority on only
# 67.6 % of the same faces.
FERPLUS_GATE = 0.80
REAL_MEAN_GATE = 0.65
REAL_SETS = ("ferplus_test", "wild_sfew", "wild_muxspace")


@pytest.fixture(scope="module", params=[INT8, FLOAT, REAL], ids=["int8", "float", "real"])
def classifier(request) -> EmotionClassifier:
    return EmotionClassifier(TFLiteModel(request.param))


@pytest.fixture(scope="module")
def face_box(pipeline, astronaut) -> tuple[float, float, float, float]:
    faces = pipeline.detector.detect(astronaut)
    assert len(faces) == 1
    return faces[0].box


@pytest.mark.parametrize("path", [INT8, REAL], ids=["int8", "real"])
def test_int8_model_is_fully_quantized(path):
    model = TFLiteModel(path)
    assert model.input.dtype == np.int8
    assert [o.dtype for o in model.outputs] == [np.int8]
    # Edge TPU and size budget: the issue caps the model at 1.5 MB.
    assert path.stat().st_size <= 1_500_000


def test_the_real_world_net_is_the_default_and_the_old_one_stays_selectable():
    default = KioskConfig().vision.classifier.model
    assert (MODELS.parent / default).resolve() == REAL
    old = EmotionClassifier(TFLiteModel(INT8))  # still shipped, still loads with its sidecar
    assert old.meta.flip_average and not old.meta.equalize


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_default_passes_the_ferplus_gates_on_record():
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    # The figures are of exactly the shipped files.
    assert record["models"]["new"]["sha256"] == _sha256(REAL)
    assert record["models"]["old"]["sha256"] == _sha256(INT8)
    sets = record["sets"]
    new = {k: sets[k]["new"]["accuracy"] for k in REAL_SETS}
    old = {k: sets[k]["old"]["accuracy"] for k in REAL_SETS}
    assert sets["ferplus_test"]["new"]["images"] >= 3000
    assert new["ferplus_test"] >= FERPLUS_GATE
    assert np.mean(list(new.values())) >= REAL_MEAN_GATE
    # It replaced the old default because it reads real faces better, on every set.
    assert all(new[k] > old[k] for k in REAL_SETS), (new, old)
    # FER2013's own labels: still measured and reported, no longer a gate.
    assert 0.0 < sets["fer2013_val"]["new"]["accuracy"] < 1.0


@pytest.mark.parametrize("path", [INT8, FLOAT, REAL], ids=["int8", "float", "real"])
def test_sidecar_matches_the_model(path):
    meta = load_meta(path)
    raw = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(meta.labels) == sorted(EMOTIONS)
    assert meta.color == "gray" and meta.crop_square
    assert 0.0 <= meta.crop_margin <= 0.3
    assert raw["license"] and raw["source"]
    # 0..255 pixels map onto the [0, 1] domain the net was trained on.
    assert meta.normalize.scale * 255 + meta.normalize.offset == pytest.approx(1.0)
    assert meta.normalize.offset == pytest.approx(0.0)


@pytest.mark.parametrize("path", [INT8, REAL], ids=["int8", "real"])
def test_int8_input_quantization_covers_the_pixel_range(path):
    scale = TFLiteModel(path).input.scale
    zero = TFLiteModel(path).input.zero_point
    # 0 and 255 must land on the int8 ends, or bright/dark faces would clip.
    assert round(0.0 / scale + zero) == -128
    assert round(1.0 / scale + zero) == 127


def test_smiling_astronaut_reads_happy(classifier, astronaut, face_box):
    probs = classifier.classify(astronaut, face_box)
    assert probs.shape == (7,)
    assert probs.sum() == pytest.approx(1.0, abs=0.02)
    assert classifier.labels[int(np.argmax(probs))] == "happy"
    assert probs[classifier.labels.index("happy")] > 0.5


def test_mirrored_face_reads_the_same(classifier, astronaut, face_box):
    crop = crop_face(astronaut, face_box, classifier.meta.crop_margin, True)
    a = classifier.classify_crop(crop)
    b = classifier.classify_crop(crop[:, ::-1].copy())
    assert np.argmax(a) == np.argmax(b)
    assert np.abs(a - b).max() < 0.25


def test_a_blank_crop_is_not_read_as_a_confident_smile(classifier):
    gray = np.full((96, 96, 3), 128, np.uint8)
    probs = classifier.classify_crop(gray)
    assert probs[classifier.labels.index("happy")] < 0.5


def test_model_card_lists_every_shipped_model():
    card = (MODELS / "README.md").read_text(encoding="utf-8")
    for path in sorted(MODELS.glob("*.tflite")):
        assert path.name in card, f"{path.name} has no entry in models/README.md"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in card, f"models/README.md has a stale sha256 for {path.name}"


@pytest.mark.parametrize("path", [INT8, REAL], ids=["int8", "real"])
def test_int8_fast_input_matches_the_generic_quantization(path, astronaut, face_box):
    clf = EmotionClassifier(TFLiteModel(path))
    crop = crop_face(astronaut, face_box, clf.meta.crop_margin, True)
    fast = clf.model_input(crop)
    assert fast.dtype == np.int8
    generic = clf.model.quantize_input(clf.preprocess(crop))
    np.testing.assert_array_equal(fast, generic)


def test_float_model_keeps_the_float_input(astronaut, face_box):
    clf = EmotionClassifier(TFLiteModel(FLOAT))
    crop = crop_face(astronaut, face_box, clf.meta.crop_margin, True)
    np.testing.assert_array_equal(clf.model_input(crop), clf.preprocess(crop))
