import sys

import cv2
import numpy as np
import pytest

from kiosk.camera.base import CameraOpenError, EndOfStream, FrameError, validate_frame
from kiosk.camera.demo import SCRIPT, DemoCamera
from kiosk.camera.factory import open_camera
from kiosk.camera.folder import FolderCamera
from kiosk.config import LoadedConfig, parse_config


def make_images(folder, n, size=(80, 60)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((size[1], size[0], 3), 20 * i, np.uint8)
        cv2.imwrite(str(folder / f"f{i:02d}.png"), img)


def test_folder_sorted_recursive_and_loops(tmp_path):
    make_images(tmp_path / "b", 2)
    make_images(tmp_path / "a", 1)
    (tmp_path / "notes.txt").write_text("not an image")
    cam = FolderCamera(tmp_path, loop=True)
    values = [int(cam.read()[0, 0, 0]) for _ in range(4)]
    assert values == [0, 0, 20, 0]  # a/f00, b/f00, b/f01, then a/f00 again


def test_folder_without_loop_ends(tmp_path):
    make_images(tmp_path, 2)
    cam = FolderCamera(tmp_path, loop=False)
    cam.read()
    cam.read()
    with pytest.raises(EndOfStream):
        cam.read()


def test_folder_unreadable_image_is_a_frame_error_and_replay_continues(tmp_path):
    make_images(tmp_path, 2)
    (tmp_path / "f00.png").write_bytes(b"not a png at all")
    cam = FolderCamera(tmp_path, loop=False)
    with pytest.raises(FrameError, match="unreadable"):
        cam.read()
    assert cam.read().shape == (60, 80, 3)


@pytest.mark.parametrize("setup", ["empty", "missing", "textfile"])
def test_folder_open_errors(tmp_path, setup):
    target = tmp_path / "src"
    if setup == "empty":
        target.mkdir()
    elif setup == "textfile":
        target = tmp_path / "x.txt"
        target.write_text("hi")
    with pytest.raises(CameraOpenError):
        FolderCamera(target).read()


def test_video_file_is_sampled_per_interval(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    assert writer.isOpened()
    for i in range(30):
        writer.write(np.full((48, 64, 3), i * 8, np.uint8))
    writer.release()
    cam = FolderCamera(path, loop=False, interval_s=1.0)  # 10 fps → every 10th frame
    firsts = []
    with pytest.raises(EndOfStream):
        for _ in range(10):
            firsts.append(int(cam.read()[0, 0, 1]))
    assert len(firsts) == 3
    assert firsts[1] - firsts[0] > 60  # ~10 frames apart, not consecutive


def test_opencv_backend_bad_device_is_open_error():
    from kiosk.camera.opencv_cam import OpenCVCamera

    cam = OpenCVCamera("/dev/video-does-not-exist", 640, 480, open_timeout_s=1)
    with pytest.raises(CameraOpenError):
        cam.read()


def test_opencv_backend_reads_a_file_source(tmp_path):
    from kiosk.camera.opencv_cam import OpenCVCamera

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(5):
        writer.write(np.full((48, 64, 3), 100, np.uint8))
    writer.release()
    cam = OpenCVCamera(str(path), 64, 48, open_timeout_s=2)
    try:
        assert cam.read().shape == (48, 64, 3)
    finally:
        cam.close()


def test_picamera2_missing_gives_install_hint(monkeypatch):
    from kiosk.camera.picam import PiCamera

    monkeypatch.setitem(sys.modules, "picamera2", None)  # import now raises ImportError
    with pytest.raises(CameraOpenError, match="python3-picamera2"):
        PiCamera(640, 480).read()


def test_demo_camera_has_empty_and_crowd_frames():
    cam = DemoCamera(640, 360, loop=False)
    frames = [cam.read() for _ in range(sum(n for n, _ in SCRIPT))]
    assert all(f.shape == (360, 640, 3) for f in frames)
    with pytest.raises(EndOfStream):
        cam.read()


def test_factory_picks_backends(tmp_path):
    loaded = LoadedConfig(parse_config({}), tmp_path, None)
    assert isinstance(open_camera(loaded), DemoCamera)
    folder = LoadedConfig(parse_config({"camera": {"backend": "folder"}}), tmp_path, None)
    with pytest.raises(CameraOpenError, match=r"camera\.source"):
        open_camera(folder)


@pytest.mark.parametrize(
    "frame",
    [
        None,
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((48, 48, 3), np.float32),
        np.zeros((10, 10, 3), np.uint8),
        np.zeros((48, 48, 5), np.uint8),
        "junk",
    ],
)
def test_garbage_frames_are_rejected(frame):
    with pytest.raises(FrameError):
        validate_frame(frame, "test")


def test_gray_and_bgra_frames_become_bgr():
    assert validate_frame(np.zeros((48, 64), np.uint8), "t").shape == (48, 64, 3)
    assert validate_frame(np.zeros((48, 64, 4), np.uint8), "t").shape == (48, 64, 3)
