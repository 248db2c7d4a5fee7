"""The real emotion model on real faces, and every way a drop-in model can be wrong."""

import json
import shutil

import numpy as np
import pytest

from kiosk.camera.compose import PHOTO_FACE, crowd_frame
from kiosk.vision.classifier import EmotionClassifier, crop_face, load_meta
from kiosk.vision.runtime import ModelError, TFLiteModel


@pytest.fixture()
def model_copy(tmp_path, default_loaded):
    """The default emotion model and its sidecar, copied so tests can break the sidecar."""
    src = default_loaded.resolve(default_loaded.config.vision.classifier.model)
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def test_smiling_astronaut_reads_happy(pipeline, astronaut):
    probs = pipeline.classifier.classify(astronaut, PHOTO_FACE)
    assert pipeline.labels[int(np.argmax(probs))] == "happy"
    assert probs.sum() == pytest.approx(1.0, abs=1e-3)


def test_every_face_in_a_crowd_gets_an_emotion(pipeline):
    frame, _placed = crowd_frame(1280, 720, [70, 110, 150], seed=2)
    result = pipeline.process(frame)
    assert len(result.faces) == 3
    for face in result.faces:
        assert set(face.scores) == set(pipeline.labels)
        assert face.emotion == max(face.scores, key=face.scores.get)
    assert set(result.timing_ms) == {"detect", "classify"}


def test_crop_at_frame_edge_is_padded_not_shrunk():
    frame = np.full((100, 100, 3), 7, np.uint8)
    crop = crop_face(frame, (-10, -10, 40, 40), margin=0.25, square=True)
    assert crop.shape[:2] == (60, 60)


def test_missing_sidecar(model_copy):
    model_copy.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="sidecar"):
        EmotionClassifier(TFLiteModel(model_copy))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"labels": ["angry", "joy", "fear", "happy", "sad", "surprise", "neutral"]},
            "unknown labels",
        ),
        ({"labels": ["angry", "happy"]}, "2 labels"),
        ({"input_size": [48, 48]}, "does not match"),
        ({"color": "purple"}, "color"),
        ({"crop_margin": 5}, "crop_margin"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_sidecar_is_named(model_copy, patch, message):
    side = model_copy.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta.update(patch)
    side.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=message):
        EmotionClassifier(TFLiteModel(model_copy))


def test_sidecar_not_json(model_copy):
    model_copy.with_suffix(".json").write_text("{labels: oops")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_meta(model_copy)


def test_logits_output_gets_softmax(model_copy, astronaut):
    side = model_copy.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["output"] = "logits"
    side.write_text(json.dumps(meta))
    probs = EmotionClassifier(TFLiteModel(model_copy)).classify(astronaut, PHOTO_FACE)
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
