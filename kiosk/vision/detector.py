"""MediaPipe BlazeFace full-range face detector with tiling for distant faces.

The full-range model takes a 192×192 RGB image in [-1, 1] and predicts, for each cell of a
48×48 grid (stride 4, one anchor per cell), a logit and 16 regressors: box centre offset and
size in input pixels, then six key points. A face 60 px wide in a 1280×720 frame shrinks to
~9 px in one whole-frame pass, below what the model resolves, so the frame is also cut into
overlapping tiles that are each scaled up far less.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.vision.config import DetectorConfig
from kiosk.vision.runtime import ModelError, TFLiteModel

INPUT = 192
GRID = 48


@dataclass(frozen=True)
class Detection:
    """A face box in frame pixels (x, y, w, h) with its score in [0, 1]."""

    box: tuple[float, float, float, float]
    score: float


def _anchors() -> np.ndarray:
    # Cell centres in normalised input coordinates; full-range anchors have fixed size 1.
    c = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    ys, xs = np.meshgrid(c, c, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


ANCHORS = _anchors()


def letterbox(image: np.ndarray, size: int = INPUT) -> tuple[np.ndarray, float, int, int]:
    """Scale ``image`` to fit a size×size square, padding the rest with black.

    Returns the square plus the scale and the padding offsets needed to map back.
    """
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = shrink(image, nw, nh)
    out = np.zeros((size, size, 3), dtype=np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    out[py : py + nh, px : px + nw] = resized
    return out, scale, px, py


def shrink(image: np.ndarray, nw: int, nh: int) -> np.ndarray:
    """Resize with little aliasing at a fraction of INTER_AREA's cost.

    INTER_AREA at an arbitrary ratio costs more than the detector's own inference; a
    bilinear step to twice the target followed by an exact 2:1 area step (OpenCV's fast
    path) keeps small faces sharp for about a tenth of the time.
    """
    h, w = image.shape[:2]
    if nw * 2 <= w and nh * 2 <= h:
        image = cv2.resize(image, (nw * 2, nh * 2), interpolation=cv2.INTER_LINEAR)
        return cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)


def decode(
    regressors: np.ndarray, logits: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Turn raw outputs into boxes (x1, y1, x2, y2 in input pixels) and sigmoid scores."""
    logits = logits.reshape(-1)
    # Compare in logit space so only candidate rows are decoded at all.
    keep = np.nonzero(logits > np.log(threshold / (1.0 - threshold)))[0]
    if keep.size == 0:
        return np.empty((0, 4), np.float32), np.empty((0,), np.float32)
    reg = regressors.reshape(-1, 16)[keep]
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits[keep], -80.0, 80.0)))
    cx = reg[:, 0] + ANCHORS[keep, 0] * INPUT
    cy = reg[:, 1] + ANCHORS[keep, 1] * INPUT
    w, h = reg[:, 2], reg[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes.astype(np.float32), scores.astype(np.float32)


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-6)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, iou: float, max_out: int
) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe-style blending NMS: each kept box is the score-weighted mean of its cluster.

    Blending steadies boxes between tiles and frames better than plain suppression.
    """
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    out_b, out_s = [], []
    alive = np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        overlap = iou_one_to_many(boxes[i], boxes) > iou
        cluster = overlap & alive
        alive &= ~cluster
        w = scores[cluster][:, None]
        out_b.append((boxes[cluster] * w).sum(axis=0) / w.sum())
        out_s.append(scores[i])
        if len(out_b) >= max_out:
            break
    if not out_b:
        return np.empty((0, 4), np.float32), np.empty((0,), np.float32)
    return np.array(out_b, np.float32), np.array(out_s, np.float32)


def tile_windows(
    width: int, height: int, rows: int, cols: int, overlap: float
) -> list[tuple[int, int, int, int]]:
    """Overlapping (x, y, w, h) tiles covering the frame, each a bit larger than 1/cols."""
    tw = int(np.ceil(width / (cols - (cols - 1) * overlap))) if cols > 1 else width
    th = int(np.ceil(height / (rows - (rows - 1) * overlap))) if rows > 1 else height
    xs = np.linspace(0, width - tw, cols).round().astype(int) if cols > 1 else [0]
    ys = np.linspace(0, height - th, rows).round().astype(int) if rows > 1 else [0]
    return [(int(x), int(y), tw, th) for y in ys for x in xs]


class FaceDetector:
    """Finds every face in a BGR frame."""

    def __init__(self, model: TFLiteModel, cfg: DetectorConfig) -> None:
        shape = model.input.shape
        if shape[1:] != (INPUT, INPUT, 3) or len(model.outputs) != 2:
            raise ModelError(
                f"{model.path} is not BlazeFace full range: input {shape}, "
                f"{len(model.outputs)} outputs (want [1,192,192,3] and 2 outputs)"
            )
        self.model = model
        self.cfg = cfg
        # The regressor output has 16 values per anchor; the logits have 1.
        self._reg_idx = 0 if model.outputs[0].shape[-1] == 16 else 1
        self._buf = np.empty((INPUT, INPUT, 3), np.float32)

    def _pass(
        self, bgr: np.ndarray, x0: int, y0: int, w: int, h: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """One model pass over a window; returns boxes in frame pixels and scores."""
        square, scale, px, py = letterbox(bgr[y0 : y0 + h, x0 : x0 + w])
        # BGR→RGB on the 192×192 square, not the full frame, is where it is cheapest.
        np.multiply(square[..., ::-1], np.float32(2.0 / 255.0), out=self._buf, casting="unsafe")
        self._buf -= 1.0
        outs = self.model.run(self._buf[None])
        boxes, scores = decode(
            outs[self._reg_idx], outs[1 - self._reg_idx], self.cfg.score_threshold
        )
        boxes[:, [0, 2]] = (boxes[:, [0, 2]] - px) / scale + x0
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] - py) / scale + y0
        return boxes, scores

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        """All faces in the frame, highest score first, in frame pixel coordinates."""
        fh, fw = frame_bgr.shape[:2]
        windows = [(0, 0, fw, fh)]
        t = self.cfg.tiling
        # Tiles only pay off when a whole-frame pass shrinks faces a lot.
        if t.mode == "grid" and (t.rows > 1 or t.cols > 1) and max(fw, fh) >= 3 * INPUT:
            windows += tile_windows(fw, fh, t.rows, t.cols, t.overlap)
        all_boxes, all_scores = [], []
        for x0, y0, w, h in windows:
            boxes, scores = self._pass(frame_bgr, x0, y0, w, h)
            if len(windows) > 1 and (w, h) != (fw, fh) and len(boxes):
                # A face cut by a tile's inner edge is seen whole by a neighbour (the tiles
                # overlap), so partial boxes there would only add duplicates.
                margin = 2.0
                inner = (
                    ((boxes[:, 0] < x0 + margin) & (x0 > 0))
                    | ((boxes[:, 1] < y0 + margin) & (y0 > 0))
                    | ((boxes[:, 2] > x0 + w - margin) & (x0 + w < fw))
                    | ((boxes[:, 3] > y0 + h - margin) & (y0 + h < fh))
                )
                boxes, scores = boxes[~inner], scores[~inner]
            all_boxes.append(boxes)
            all_scores.append(scores)
        boxes = np.concatenate(all_boxes)
        scores = np.concatenate(all_scores)
        boxes, scores = weighted_nms(boxes, scores, self.cfg.nms_iou, self.cfg.max_faces * 4)
        out = []
        for (x1, y1, x2, y2), s in zip(boxes, scores, strict=True):
            x1, y1 = max(0.0, float(x1)), max(0.0, float(y1))
            x2, y2 = min(float(fw), float(x2)), min(float(fh), float(y2))
            if x2 - x1 < self.cfg.min_face_px or y2 <= y1:
                continue
            out.append(Detection((x1, y1, x2 - x1, y2 - y1), float(s)))
            if len(out) >= self.cfg.max_faces:
                break
        return out
