"""The one preprocessing path from a face crop to an emotion model's input.

The daemon, ``kiosk eval`` and the training scripts (scripts/training/: train_emotion.py,
emotion_data.py) all call these functions, so whatever a model's sidecar asks for
(colour, size, equalisation, normalisation, crop margin) is done the same way when the
model learns and when it serves. tests/vision/test_preprocess.py holds them to that.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from kiosk.vision.detector import shrink


class _NormalizeLike(Protocol):
    scale: float
    offset: float


class PreprocessSpec(Protocol):
    """The sidecar fields that shape the input (kiosk.vision.classifier.ModelMeta has them)."""

    input_size: tuple[int, int]
    color: str
    equalize: bool
    normalize: _NormalizeLike


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


def model_pixels(crop: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """A crop (BGR, or already gray 2-D) in the model's colour order and size, still uint8.

    Gray models get an (H, W) array, colour models (H, W, 3). Equalisation (when the
    sidecar asks for it) runs after the resize, on what the model sees.
    """
    w, h = spec.input_size
    if spec.color == "gray":
        img = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    elif crop.ndim == 2:
        img = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)  # gray is the same in RGB and BGR order
    elif spec.color == "rgb":
        img = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
    else:
        img = crop
    img = shrink(img, w, h)
    if spec.equalize:
        if img.ndim == 2:
            img = cv2.equalizeHist(img)
        else:
            # Equalise brightness only, so colours keep their balance.
            ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
            ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
            img = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    return np.ascontiguousarray(img)


def normalize(pixels: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 pixels (any leading batch shape) to float32 with the sidecar's scale and offset."""
    return pixels.astype(np.float32) * np.float32(spec.normalize.scale) + np.float32(
        spec.normalize.offset
    )


def model_tensor(crop: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """The float input tensor (1, H, W, C) for one crop."""
    w, h = spec.input_size
    return normalize(model_pixels(crop, spec), spec).reshape(1, h, w, -1)
