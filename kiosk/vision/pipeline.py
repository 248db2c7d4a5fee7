"""Frame → faces → emotions. Frames stay in memory; nothing here writes an image."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from kiosk.camera.base import validate_frame
from kiosk.config import LoadedConfig
from kiosk.vision.classifier import EmotionClassifier
from kiosk.vision.detector import FaceDetector
from kiosk.vision.runtime import TFLiteModel


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, w, h in frame pixels
    score: float  # detector confidence
    emotion: str  # most likely label
    scores: dict[str, float]  # label → probability

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
            "emotion": self.emotion,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
        }


@dataclass
class FrameResult:
    faces: list[Face]
    timing_ms: dict[str, float] = field(default_factory=dict)


class Pipeline:
    """Runs the detector and the classifier on one frame at a time."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier) -> None:
        self.detector = detector
        self.classifier = classifier

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> Pipeline:
        v = loaded.config.vision
        rt = v.runtime
        det_model = TFLiteModel(
            loaded.resolve(v.detector.model), rt.num_threads, rt.backend, rt.edgetpu
        )
        cls_model = TFLiteModel(
            loaded.resolve(v.classifier.model), rt.num_threads, rt.backend, rt.edgetpu
        )
        return cls(FaceDetector(det_model, v.detector), EmotionClassifier(cls_model))

    @property
    def labels(self) -> list[str]:
        return self.classifier.labels

    def classify_faces(self, frame: np.ndarray, dets: list) -> list[Face]:
        faces = []
        for d in dets:
            probs = self.classifier.classify(frame, d.box)
            scores = dict(zip(self.labels, probs.tolist(), strict=True))
            faces.append(Face(d.box, d.score, self.labels[int(np.argmax(probs))], scores))
        return faces

    def process(self, frame: np.ndarray) -> FrameResult:
        frame = validate_frame(frame, "frame")
        t0 = time.perf_counter()
        dets = self.detector.detect(frame)
        t1 = time.perf_counter()
        faces = self.classify_faces(frame, dets)
        t2 = time.perf_counter()
        return FrameResult(faces, {"detect": (t1 - t0) * 1000, "classify": (t2 - t1) * 1000})

    def process_crop(self, crop: np.ndarray) -> FrameResult:
        """Treat the whole image as one face (no detection)."""
        crop = validate_frame(crop, "crop")
        t0 = time.perf_counter()
        probs = self.classifier.classify_crop(crop)
        t1 = time.perf_counter()
        h, w = crop.shape[:2]
        scores = dict(zip(self.labels, (float(p) for p in probs), strict=True))
        face = Face((0.0, 0.0, float(w), float(h)), 1.0, self.labels[int(np.argmax(probs))], scores)
        return FrameResult([face], {"detect": 0.0, "classify": (t1 - t0) * 1000})
