"""The sidecar contract: training and serving turn the same crop into the same tensor.

In scripts/training/, train_emotion.py (FER+ and folder images), emotion_data.py (wild
photos framed by the detector's box) and emotion_export.py (the sidecar it writes) must
agree with what EmotionClassifier feeds the model in the daemon and in ``kiosk eval``.
"""

import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.camera.compose import PHOTO_FACE
from kiosk.vision.classifier import EmotionClassifier, load_meta
from kiosk.vision.preprocess import crop_face
from kiosk.vision.runtime import TFLiteModel

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "training"))
import emotion_data  # noqa: E402
import emotion_export  # noqa: E402
import train_emotion  # noqa: E402

INT8 = ROOT / "models" / "emotion_cnn_int8.tflite"


def _classifier(tmp_path, **patch) -> EmotionClassifier:
    """The shipped int8 model with its sidecar patched (e.g. equalize on)."""
    dst = tmp_path / INT8.name
    shutil.copy(INT8, dst)
    meta = json.loads(INT8.with_suffix(".json").read_text()) | patch
    dst.with_suffix(".json").write_text(json.dumps(meta))
    return EmotionClassifier(TFLiteModel(dst))


def _training_tensor(crops, spec) -> np.ndarray:
    """What the trainer feeds the net, minus torch's (B,1,H,W) layout: pixels, normalised."""
    return train_emotion.normalize(train_emotion.to_model_pixels(crops, spec), spec)


@pytest.mark.parametrize("equalize", [False, True])
def test_training_and_serving_give_the_same_tensor(tmp_path, astronaut, equalize):
    clf = _classifier(tmp_path, equalize=equalize)
    spec = train_emotion.preprocess_spec(44, clf.meta.crop_margin, equalize)
    crop = crop_face(astronaut, PHOTO_FACE, clf.meta.crop_margin, True)
    served = clf.preprocess(crop)
    trained = _training_tensor([crop], spec)
    assert served.shape == (1, 44, 44, 1)
    np.testing.assert_array_equal(trained[0], served[0, :, :, 0])
    # A 48 px gray crop (FER's own images) through both paths as well.
    gray48 = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (48, 48))
    np.testing.assert_array_equal(
        _training_tensor([gray48], spec)[0], clf.preprocess(gray48)[0, :, :, 0]
    )


def test_equalize_changes_the_tensor(tmp_path, astronaut):
    """The test above would pass vacuously if the flag did nothing."""
    crop = crop_face(astronaut, PHOTO_FACE, 0.08, True)
    plain = _classifier(tmp_path, equalize=False).preprocess(crop)
    flat = _classifier(tmp_path, equalize=True).preprocess(crop)
    assert np.abs(plain - flat).max() > 0.05


def test_wild_photos_are_framed_as_the_daemon_frames_them(tmp_path, astronaut):
    """emotion_data.wild_pixels (training on photos) == EmotionClassifier.classify's input."""
    clf = _classifier(tmp_path)
    cv2.imwrite(str(tmp_path / "face.png"), astronaut)
    rows = [{"path": "face.png", "source": "t", "label": "happy", "split": "train"}]
    boxes = {"face.png": {"box": list(PHOTO_FACE), "found": True}}
    spec = train_emotion.preprocess_spec(44, clf.meta.crop_margin)
    px, y, found = emotion_data.wild_pixels(tmp_path, rows, boxes, spec, clf.meta.crop_margin)
    served = clf.preprocess(crop_face(astronaut, PHOTO_FACE, clf.meta.crop_margin, True))
    np.testing.assert_array_equal(train_emotion.normalize(px, spec)[0], served[0, :, :, 0])
    assert y.tolist() == [3] and found.tolist() == [True]


def test_int8_fast_path_sees_the_training_pixels(tmp_path, astronaut):
    """The int8 byte path is pixel - 128 of exactly the pixels the trainer normalises."""
    clf = _classifier(tmp_path)
    spec = train_emotion.preprocess_spec(44, clf.meta.crop_margin)
    crop = crop_face(astronaut, PHOTO_FACE, clf.meta.crop_margin, True)
    fast = clf.model_input(crop)
    px = train_emotion.to_model_pixels([crop], spec)
    np.testing.assert_array_equal(fast[0, :, :, 0].astype(np.int16), px[0].astype(np.int16) - 128)


def test_export_writes_the_training_spec_into_the_sidecar(tmp_path):
    spec = train_emotion.preprocess_spec(44, 0.12, True)
    model = tmp_path / "m.tflite"
    shutil.copy(INT8, model)
    model.with_suffix(".json").write_text(
        json.dumps(emotion_export.sidecar("m", model, spec, "int8", "test data"))
    )
    meta = load_meta(model)
    for field in ("input_size", "color", "normalize", "crop_margin", "equalize"):
        assert getattr(meta, field) == getattr(spec, field), field
    # And a run's summary.json carries the same fields to the export.
    summary = {"input_size": 44, "preprocess": {"crop_margin": 0.12, "equalize": True}}
    again = emotion_export.run_spec(summary, None)
    assert (again.crop_margin, again.equalize, again.input_size) == (0.12, True, (44, 44))


def test_flip_average_is_the_mean_of_the_input_and_its_mirror(tmp_path, astronaut):
    plain = _classifier(tmp_path, flip_average=False)
    crop = crop_face(astronaut, PHOTO_FACE, plain.meta.crop_margin, True)
    x = plain.model_input(crop)
    mirrored = plain._probabilities(np.ascontiguousarray(x[:, :, ::-1]))
    assert np.abs(mirrored - plain.classify_crop(crop)).max() > 1e-3  # the face is not symmetric
    both = _classifier(tmp_path, flip_average=True).classify_crop(crop)
    np.testing.assert_allclose(both, (plain.classify_crop(crop) + mirrored) / 2, atol=1e-6)
    assert both.sum() == pytest.approx(1.0, abs=1e-3)
