"""Faces and their emotions in a frame.

``Pipeline`` runs the face detector (``detector.py``) and the emotion classifier
(``classifier.py``) on a TFLite runtime (``runtime.py``: LiteRT or tflite_runtime, found by
``find_backend``); both read their crops through ``preprocess.py``. ``evaluate`` scores an
emotion model on labelled crops (``kiosk eval`` and the training scripts). A new runtime is
a ``Backend`` in ``runtime.py``.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "EmotionClassifier",
    "Face",
    "FaceDetector",
    "FrameResult",
    "ModelError",
    "Pipeline",
    "RuntimeUnavailable",
    "TFLiteModel",
    "VisionConfig",
    "evaluate",
    "load_samples",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "VisionConfig": "config",
        "Pipeline": "pipeline",
        "Face": "pipeline",
        "FrameResult": "pipeline",
        "FaceDetector": "detector",
        "EmotionClassifier": "classifier",
        "TFLiteModel": "runtime",
        "ModelError": "runtime",
        "RuntimeUnavailable": "runtime",
        "evaluate": "evaluate",
        "load_samples": "evaluate",
    },
)
