"""Camera-reality augmentation for the emotion trainer (torch on the batch, plus OpenCV JPEG).

The shop camera's faces differ from FER's: the detector's box wanders in size and position,
distant faces are a few dozen pixels wide (blur after the resize), the light is low or
uneven, sensors add noise and the stream is compressed. Every batch gets a random mix of
those. The result is rounded back to uint8 pixels so the net always sees exactly what
kiosk.vision.preprocess.normalize makes of a camera crop.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def geometric(x, gen, rot: float = 15.0, scale=(0.85, 1.2), shift_px: float = 5.0):
    """Flip, rotation, and box scale / position jitter of a (B,1,H,W) float batch in [0,1].

    Zooming out replicates the border, as crop_face does where a box leaves the frame.
    """
    import torch
    import torch.nn.functional as F

    b = x.shape[0]

    def u(lo: float, hi: float):
        return torch.rand(b, generator=gen, device=x.device) * (hi - lo) + lo

    angle = u(-rot, rot) * math.pi / 180
    s = u(*scale)
    shift = shift_px / (x.shape[-1] / 2)
    tx, ty = u(-shift, shift), u(-shift, shift)
    flip = torch.where(torch.rand(b, generator=gen, device=x.device) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def photometric(x, gen):
    """Contrast, brightness, gamma (low light and glare), darkening, low resolution, noise."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    dev = x.device

    def u(lo: float, hi: float):
        return (torch.rand(b, generator=gen, device=dev) * (hi - lo) + lo).view(b, 1, 1, 1)

    def chance(p: float):
        return (torch.rand(b, generator=gen, device=dev) < p).view(b, 1, 1, 1)

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * u(0.6, 1.4) + mean + u(-0.15, 0.15)).clamp(0.0, 1.0)
    gamma = torch.exp(u(math.log(0.6), math.log(2.0)))
    x = torch.where(chance(0.4), x.clamp_min(1e-4) ** gamma, x)
    x = torch.where(chance(0.25), x * u(0.35, 1.0), x)
    # A far face: the crop was a few dozen pixels before the resize up to the model's size.
    side = x.shape[-1]
    small = int(torch.randint(12, side, (1,), generator=gen, device=dev))
    low = F.interpolate(x, size=(small, small), mode="area")
    low = F.interpolate(low, size=(side, side), mode="bilinear", align_corners=False)
    x = torch.where(chance(0.3), low, x)
    noise = torch.randn(x.shape, generator=gen, device=dev) * u(0.0, 0.05)
    x = torch.where(chance(0.3), x + noise, x)
    return x.clamp(0.0, 1.0)


def to_pixels(x) -> np.ndarray:
    """(B,1,H,W) float in [0,1] to (B,H,W) uint8, rounded as a camera frame would be."""
    import torch

    return x[:, 0].mul(255.0).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def jpeg_and_equalize(
    px: np.ndarray, rng: np.random.Generator, p_jpeg: float = 0.3, p_eq: float = 0.1
) -> np.ndarray:
    """JPEG artefacts (quality 15 to 70) and, now and then, a histogram-equalised look."""
    out = px.copy()
    for i in np.flatnonzero(rng.random(len(px)) < p_jpeg):
        q = int(rng.integers(15, 71))
        ok, buf = cv2.imencode(".jpg", out[i], [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            out[i] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    for i in np.flatnonzero(rng.random(len(px)) < p_eq):
        out[i] = cv2.equalizeHist(out[i])
    return out


def camera_batch(x_u8, gen, rng: np.random.Generator) -> np.ndarray:
    """A (B,H,W) uint8 torch batch, augmented, back as (B,H,W) uint8 numpy pixels."""
    x = x_u8.float().div_(255.0).unsqueeze(1)
    x = photometric(geometric(x, gen), gen)
    return jpeg_and_equalize(to_pixels(x), rng)
