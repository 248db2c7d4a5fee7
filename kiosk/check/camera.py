"""The camera and model checks: a frame from the configured camera, and the models on the
bundled test photo."""

from __future__ import annotations

import contextlib
import time

from kiosk.check.result import Check

CAMERA_FIX = {
    "picamera2": "check the ribbon cable and that `rpicam-hello --list-cameras` sees it; "
    "apt install python3-picamera2; the kiosk user must be in the video group",
    "opencv": "check `v4l2-ctl --list-devices` (apt install v4l-utils) and set camera.source "
    "to the right index or /dev/videoN; the kiosk user must be in the video group",
    "folder": "set camera.source to a folder of images or a video file that exists",
    "demo": "the demo camera needs no hardware; reinstall the package if this fails",
}


def check_camera(loaded) -> Check:
    from kiosk.camera.factory import open_camera

    backend = loaded.config.camera.backend
    fix = CAMERA_FIX.get(backend, "check the camera section of the config")
    cam = open_camera(loaded)
    t0 = time.monotonic()
    try:
        cam.open()
        frame = cam.read()
    except Exception as exc:
        return Check("camera", False, True, f"{backend}: {exc}", fix)
    finally:
        with contextlib.suppress(Exception):
            cam.close()
    if frame is None or getattr(frame, "ndim", 0) != 3:
        return Check("camera", False, True, f"{backend}: no usable frame", fix)
    h, w = frame.shape[:2]
    return Check("camera", True, True, f"{backend}: {w}x{h} frame in {time.monotonic() - t0:.2f} s")


def missing_models(loaded) -> list[str]:
    """Every model file the config names that is not there (not just the first)."""
    from kiosk.vision.classifier import sidecar_path

    v = loaded.config.vision
    missing = []
    for key, name in (
        ("vision.detector.model", v.detector.model),
        ("vision.classifier.model", v.classifier.model),
    ):
        path = loaded.resolve(name)
        if not path.is_file():
            missing.append(f"{key} {path}")
        elif key == "vision.classifier.model" and not sidecar_path(path).is_file():
            missing.append(f"{key} sidecar {sidecar_path(path)}")
    return missing


def check_models(loaded) -> Check:
    from kiosk.camera.compose import photo
    from kiosk.vision.pipeline import Pipeline

    fix = (
        "check vision.detector.model and vision.classifier.model point at the .tflite files "
        "(and the classifier's .json sidecar); pip install ai-edge-litert (or tflite-runtime)"
    )
    missing = missing_models(loaded)
    if missing:
        return Check("models", False, True, "missing: " + "; ".join(missing), fix)
    try:
        pipeline = Pipeline.from_config(loaded)
        result = pipeline.process(photo().copy())
    except Exception as exc:
        return Check("models", False, True, f"{type(exc).__name__}: {exc}", fix)
    if not result.faces:
        return Check(
            "models", False, True, "models ran but found no face in the bundled test photo", fix
        )
    f = result.faces[0]
    timing = ", ".join(f"{k} {v:.1f} ms" for k, v in result.timing_ms.items())
    # Name the emotion model: an update can change the package default.
    model = pipeline.classifier.model.path.stem
    read = f"face {f.emotion} {f.scores[f.emotion]:.2f} (face score {f.score:.2f})"
    return Check("models", True, True, f"{model}: test photo {read}; {timing}")
