"""`kiosk eval` on FER+-style vote files (.npz, or crops with a votes.csv), made here."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.camera.compose import PHOTO_FACE, photo
from kiosk.vision.evaluate import VOTE_COLUMNS, EvalInputError, load_samples, majority_labels

ROOT = Path(__file__).resolve().parents[2]
SIX = ["angry", "fear", "happy", "sad", "surprise", "neutral"]


def kiosk(*args):
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def votes(**counts) -> list[int]:
    return [counts.get(c, 0) for c in VOTE_COLUMNS]


def smile_crop(size: int = 48) -> np.ndarray:
    x, y, w, h = PHOTO_FACE
    face = cv2.cvtColor(photo()[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY)
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)


def test_majority_rule():
    rows = np.array(
        [
            votes(happy=8, neutral=2),  # clear
            votes(happy=5, neutral=5),  # tie: none
            votes(happy=4, sad=3, angry=1, fear=1, neutral=1),  # singles dropped: 4 of 7
            votes(contempt=6, neutral=4),  # contempt wins: dropped
            votes(not_a_face=10),
            votes(),
            votes(sad=5, angry=3, fear=2),  # 5 of 10 is not more than half
        ]
    )
    assert majority_labels(rows) == ["happy", None, "happy", None, None, None, None]


@pytest.fixture()
def votes_npz(tmp_path):
    smile = smile_crop()
    blank = np.full((48, 48), 128, np.uint8)
    images = np.stack([smile, smile, smile, blank, blank])
    v = np.array(
        [
            votes(happy=9, neutral=1),
            votes(happy=7, surprise=3),
            votes(sad=10),  # the smile labelled sad: one known miss
            votes(happy=5, neutral=5),  # no majority
            votes(disgust=8, angry=2),  # disgust, left out by --exclude
        ],
        dtype=np.int16,
    )
    path = tmp_path / "votes.npz"
    np.savez(path, images=images, votes=v, names=np.array([f"{i}.png" for i in range(5)]))
    return path


def test_eval_reads_a_votes_npz(votes_npz):
    r = kiosk("eval", str(votes_npz), "--exclude", "disgust", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"] == "votes-npz" and out["labels"] == SIX
    assert out["images"] == 3 and out["no_majority"] == 1
    assert out["support"]["happy"] == 2 and out["support"]["sad"] == 1
    assert out["recall"]["happy"] == 1.0 and out["recall"]["sad"] == 0.0
    happy, sad = SIX.index("happy"), SIX.index("sad")
    assert out["confusion"][happy][happy] == 2 and out["confusion"][sad][happy] == 1
    assert sum(map(sum, out["confusion"])) == 3
    # Balanced accuracy only counts labels that have images.
    assert out["balanced_accuracy"] == pytest.approx(0.5)
    text = kiosk("eval", str(votes_npz), "--exclude", "disgust")
    assert "1 without a majority vote" in text.stdout and "confusion" in text.stdout


def test_eval_reads_crops_with_a_votes_csv(tmp_path):
    smile = cv2.cvtColor(smile_crop(96), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp_path / "a.png"), smile)
    cv2.imwrite(str(tmp_path / "b.png"), cv2.flip(smile, 1))
    (tmp_path / "c.png").write_bytes(b"not a png")
    outside = tmp_path.parent / "outside.png"
    cv2.imwrite(str(outside), smile)
    # FER+'s own header (fer2013new.csv), with the usage column it carries.
    header = (
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    )
    lines = [
        header,
        "PublicTest,a.png,0,9,1,0,0,0,0,0,0,0",
        "PublicTest,b.png,1,8,1,0,0,0,0,0,0,0",
        "PublicTest,c.png,0,10,0,0,0,0,0,0,0,0",  # unreadable image
        "PublicTest,../outside.png,0,10,0,0,0,0,0,0,0,0",  # outside the folder: not read
        "PublicTest,d.png,0,x,0,0,0,0,0,0,0,0",  # bad count
        "PublicTest,,0,0,0,0,0,0,0,0,0,10",  # FER+ rows without an image
    ]
    (tmp_path / "votes.csv").write_text("\n".join(lines) + "\n")
    r = kiosk("eval", str(tmp_path), "--restrict", "happy,sad,neutral", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"] == "votes-csv"
    assert out["images"] == 2 and out["unreadable"] == 2 and out["no_majority"] == 2
    assert out["confusion"] == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_bad_vote_files_are_usage_errors(tmp_path):
    np.savez(tmp_path / "no_votes.npz", images=np.zeros((2, 48, 48), np.uint8))
    np.savez(tmp_path / "short.npz", images=np.zeros((2, 48, 48), np.uint8), votes=np.ones((2, 8)))
    (tmp_path / "junk.npz").write_bytes(b"\x00" * 64)
    cases = (("no_votes", "needs arrays"), ("short", "votes must be"), ("junk", "readable"))
    for name, message in cases:
        with pytest.raises(EvalInputError, match=message):
            load_samples(tmp_path / f"{name}.npz", SIX)
    d = tmp_path / "crops"
    d.mkdir()
    (d / "votes.csv").write_text("file,happy,sad\na.png,3,4\n")
    with pytest.raises(EvalInputError, match="missing"):
        load_samples(d, SIX)
    r = kiosk("eval", str(tmp_path / "short.npz"))
    assert r.returncode == 2 and "votes must be" in r.stderr


def test_limit_caps_each_label(votes_npz):
    samples, kind, _ = load_samples(votes_npz, SIX, limit=1)
    assert kind == "votes-npz" and [lab for _, _, lab in samples] == ["happy", "sad"]
