"""Emotion classifier: any TFLite model described by a sidecar JSON file.

The sidecar (``<model>.json`` beside the ``.tflite``) says what the model expects, so a
user can drop in another model without code changes:
labels (FER2013 names, in output order), input_size [W, H], color gray|rgb|bgr,
normalize {scale, offset} applied to 0..255 pixels, output probabilities|logits,
crop_margin (fraction of the face box added on each side) and crop_square.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiosk.api import EMOTIONS
from kiosk.vision.detector import shrink
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
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
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


def crop_face(
    frame_bgr: np.ndarray, box: tuple[float, float, float, float], margin: float, square: bool
) -> np.ndarray:
    """The face region with margin; parts outside the frame are filled by edge replication."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    if square:
        w = h = max(w, h)
    w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    x1, y1 = x0 + max(1, round(w)), y0 + max(1, round(h))
    fh, fw = frame_bgr.shape[:2]
    if x0 >= 0 and y0 >= 0 and x1 <= fw and y1 <= fh:
        return frame_bgr[y0:y1, x0:x1]
    pad = (max(0, -y0), max(0, y1 - fh), max(0, -x0), max(0, x1 - fw))
    inner = frame_bgr[max(0, y0) : min(fh, y1), max(0, x0) : min(fw, x1)]
    return cv2.copyMakeBorder(inner, *pad, cv2.BORDER_REPLICATE)


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
        self._scale = np.float32(self.meta.normalize.scale)
        self._offset = np.float32(self.meta.normalize.offset)
        self._byte_input = _takes_pixels_as_int8(model, self.meta)

    def _pixels(self, crop_bgr: np.ndarray) -> np.ndarray:
        """The crop in the model's colour order and input size, still uint8."""
        w, h = self.meta.input_size
        if self.meta.color == "gray":
            img = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY) if crop_bgr.ndim == 3 else crop_bgr
        elif self.meta.color == "rgb":
            img = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2RGB)
        else:
            img = crop_bgr
        return shrink(img, w, h)

    def preprocess(self, crop_bgr: np.ndarray) -> np.ndarray:
        w, h = self.meta.input_size
        x = self._pixels(crop_bgr).astype(np.float32) * self._scale + self._offset
        return x.reshape(1, h, w, -1)

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
        y = self.model.run(self.model_input(crop_bgr))[0].reshape(-1)
        if self.meta.output == "logits":
            e = np.exp(y - y.max())
            return e / e.sum()
        total = float(y.sum())
        return y / total if total > 0 else np.full_like(y, 1.0 / len(y))

    def classify(self, frame_bgr: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        crop = crop_face(frame_bgr, box, self.meta.crop_margin, self.meta.crop_square)
        return self.classify_crop(crop)
