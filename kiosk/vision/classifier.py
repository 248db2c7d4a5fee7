"""Emotion classifier: any TFLite model described by a sidecar JSON file.

The sidecar (``<model>.json`` beside the ``.tflite``) says what the model expects, so a
user can drop in another model without code changes:
labels (FER2013 names, in output order), input_size [W, H], color gray|rgb|bgr,
normalize {scale, offset} applied to 0..255 pixels, output probabilities|logits,
crop_margin (fraction of the face box added on each side), crop_square, equalize and
flip_average (test-time flip).
The preprocessing itself is kiosk.vision.preprocess, shared with the training scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiosk.core.api import EMOTIONS
from kiosk.vision.preprocess import crop_face, model_pixels, model_tensor

__all__ = ["EmotionClassifier", "ModelMeta", "crop_face", "load_meta", "sidecar_path"]
from kiosk.vision.runtime import ModelError, TFLiteModel


class Normalize(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scale: float = Field(description="Multiplier applied to 0..255 pixel values.")
    offset: float = Field(description="Added after scaling.")


class ModelMeta(BaseModel):
    """The sidecar file's schema."""

    model_config = ConfigDict(extra="forbid")
    name: str
    labels: list[str]
    input_size: tuple[int, int]
    color: Literal["gray", "rgb", "bgr"]
    normalize: Normalize
    output: Literal["probabilities", "logits"] = "probabilities"
    crop_margin: float = Field(0.0, ge=0.0, le=1.0)
    crop_square: bool = True
    equalize: bool = Field(
        False, description="Histogram-equalise the resized crop (gray: the image; colour: luma)."
    )
    flip_average: bool = Field(
        False,
        description="Also run the mirrored input and average the two outputs (test-time flip; "
        "two invokes per face).",
    )
    source: str = ""
    license: str = ""
    sha256: str = ""

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, v: list[str]) -> list[str]:
        unknown = [x for x in v if x not in EMOTIONS]
        if unknown:
            raise ValueError(f"unknown labels {unknown}; use FER2013 names {list(EMOTIONS)}")
        if len(set(v)) != len(v):
            raise ValueError("labels repeat")
        return v


def sidecar_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def load_meta(model_path: Path) -> ModelMeta:
    path = sidecar_path(model_path)
    try:
        return ModelMeta.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ModelError(
            f"{model_path}: sidecar {path.name} is missing; it must give labels, input_size, "
            "color, normalize and crop_margin (see models/README.md)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON: {exc}") from None
    except ValidationError as exc:
        from kiosk.errors import describe_errors

        problems = "; ".join(describe_errors(exc, top="(top)"))
        raise ModelError(f"{path}: {problems}") from None


def _takes_pixels_as_int8(model: TFLiteModel, meta: ModelMeta) -> bool:
    """True when the int8 input tensor holds exactly pixel - 128 (gray, x/255, scale 1/255)."""
    info = model.input
    return (
        meta.color == "gray"
        and info.dtype == np.int8
        and info.zero_point == -128
        and abs(info.scale * 255.0 - 1.0) < 1e-6
        and abs(meta.normalize.scale * 255.0 - 1.0) < 1e-6
        and meta.normalize.offset == 0.0
    )


class EmotionClassifier:
    """Reads an emotion distribution from a face crop."""

    def __init__(self, model: TFLiteModel, meta: ModelMeta | None = None) -> None:
        self.model = model
        self.meta = meta or load_meta(model.path)
        w, h = self.meta.input_size
        channels = 1 if self.meta.color == "gray" else 3
        want = (1, h, w, channels)
        if model.input.shape != want:
            raise ModelError(
                f"{model.path}: input tensor {model.input.shape} does not match sidecar "
                f"{want} (input_size {self.meta.input_size}, color {self.meta.color})"
            )
        n_out = model.outputs[0].shape[-1]
        if n_out != len(self.meta.labels):
            raise ModelError(
                f"{model.path}: {n_out} outputs but the sidecar lists "
                f"{len(self.meta.labels)} labels"
            )
        self.labels = self.meta.labels
        self._byte_input = _takes_pixels_as_int8(model, self.meta)

    def _pixels(self, crop_bgr: np.ndarray) -> np.ndarray:
        """The crop in the model's colour order and input size, still uint8."""
        return model_pixels(crop_bgr, self.meta)

    def preprocess(self, crop_bgr: np.ndarray) -> np.ndarray:
        return model_tensor(crop_bgr, self.meta)

    def model_input(self, crop_bgr: np.ndarray) -> np.ndarray:
        """The input tensor for one crop: int8 straight from the pixels where that is exact."""
        if not self._byte_input:
            return self.preprocess(crop_bgr)
        w, h = self.meta.input_size
        # pixel/255 quantized with scale 1/255 and zero point -128 is pixel - 128, which is
        # the pixel byte with its top bit flipped, read as int8.
        img = np.bitwise_xor(self._pixels(crop_bgr), np.uint8(0x80))
        return img.view(np.int8).reshape(1, h, w, 1)

    def classify_crop(self, crop_bgr: np.ndarray) -> np.ndarray:
        """Probabilities in ``self.labels`` order for one crop (already framed)."""
        x = self.model_input(crop_bgr)
        probs = self._probabilities(x)
        if self.meta.flip_average:
            # Mirroring the model input, not the crop, saves a second resize; the two are
            # the same image up to the resize's rounding.
            probs = (probs + self._probabilities(np.ascontiguousarray(x[:, :, ::-1]))) / 2
        return probs

    def _probabilities(self, x: np.ndarray) -> np.ndarray:
        y = self.model.run(x)[0].reshape(-1)
        if self.meta.output == "logits":
            e = np.exp(y - y.max())
            return e / e.sum()
        total = float(y.sum())
        return y / total if total > 0 else np.full_like(y, 1.0 / len(y))

    def classify(self, frame_bgr: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        crop = crop_face(frame_bgr, box, self.meta.crop_margin, self.meta.crop_square)
        return self.classify_crop(crop)
