"""Config for the inference runtime, face detector and emotion classifier."""

from typing import Literal

from pydantic import Field

from kiosk.settings_base import Section


class RuntimeConfig(Section):
    """TFLite interpreter settings shared by both models."""

    backend: Literal["auto", "ai_edge_litert", "tflite_runtime", "tensorflow"] = Field(
        "auto",
        description="auto tries ai_edge_litert, then tflite_runtime, then tensorflow.lite.",
    )
    num_threads: int = Field(
        1, ge=1, le=16, description="CPU threads per interpreter. 1 leaves cores for audio."
    )
    edgetpu: bool = Field(
        False,
        description=(
            "Load the Coral Edge TPU delegate (libedgetpu.so.1). Only models compiled for "
            "the Edge TPU gain from it."
        ),
    )


class TilingConfig(Section):
    """Extra detector passes so small, distant faces are found."""

    mode: Literal["off", "grid"] = Field(
        "grid",
        description=(
            "off: one pass over the whole frame (fast, misses faces under ~100 px in 720p). "
            "grid: whole-frame pass plus overlapping tiles. Measured on 1280×720 frames with "
            "2-6 faces of 60-200 px: off finds 82%, a 2×2 grid 100% at 5 passes."
        ),
    )
    rows: int = Field(2, ge=1, le=6, description="Tile rows for grid mode.")
    cols: int = Field(2, ge=1, le=8, description="Tile columns for grid mode.")
    overlap: float = Field(
        0.2, ge=0.0, le=0.5, description="Fraction of a tile shared with its neighbour."
    )


class DetectorConfig(Section):
    """BlazeFace full-range face detector."""

    model: str = Field(
        "models/face_detection_full_range.tflite",
        description="Path to the detector .tflite (relative paths resolve from the config).",
    )
    score_threshold: float = Field(
        0.5, gt=0.0, lt=1.0, description="Minimum face score after the sigmoid."
    )
    nms_iou: float = Field(
        0.3, gt=0.0, lt=1.0, description="Boxes overlapping more than this are merged."
    )
    min_face_px: int = Field(
        20, ge=4, le=2000, description="Ignore faces narrower than this many frame pixels."
    )
    max_faces: int = Field(32, ge=1, le=256, description="Keep at most this many faces.")
    tiling: TilingConfig = Field(default_factory=TilingConfig, description="Small-face passes.")


class ClassifierConfig(Section):
    """Emotion model. Its sidecar JSON (same name, .json) gives labels and preprocessing."""

    model: str = Field(
        "models/emotion_cnn_real_int8.tflite",
        description=(
            "Path to the emotion .tflite; a sidecar <model>.json must sit beside it. Default: "
            "our full-int8 CNN for real-world faces (84% on FER+ majority labels, 6 classes; "
            "Edge TPU ready). models/emotion_cnn_int8.tflite is the previous default (72% on "
            "FER+; trained on FER2013's own labels); models/fer_emotion_quantized.tflite is "
            "the fer package's model (69%)."
        ),
    )


class VisionConfig(Section):
    """Vision pipeline."""

    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig, description="Interpreter.")
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="Faces.")
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig, description="Emotions.")
