"""Interpreter backend fallback and generic quantization."""

import sys
import types

import numpy as np
import pytest

from kiosk.vision import runtime
from kiosk.vision.runtime import ModelError, RuntimeUnavailable, TensorInfo, TFLiteModel


def block(monkeypatch, *modules):
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError


def test_auto_prefers_ai_edge_litert():
    assert runtime.find_backend("auto").name == "ai_edge_litert"


def test_falls_back_to_tflite_runtime(monkeypatch):
    from ai_edge_litert import interpreter as real

    block(monkeypatch, "ai_edge_litert", "ai_edge_litert.interpreter")
    fake_pkg = types.ModuleType("tflite_runtime")
    fake = types.ModuleType("tflite_runtime.interpreter")
    fake.Interpreter = real.Interpreter
    fake.load_delegate = real.load_delegate
    monkeypatch.setitem(sys.modules, "tflite_runtime", fake_pkg)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", fake)
    assert runtime.find_backend("auto").name == "tflite_runtime"


def test_no_runtime_at_all_explains_what_to_install(monkeypatch):
    block(
        monkeypatch,
        "ai_edge_litert",
        "ai_edge_litert.interpreter",
        "tflite_runtime",
        "tflite_runtime.interpreter",
        "tensorflow",
    )
    with pytest.raises(RuntimeUnavailable, match="pip install ai-edge-litert"):
        runtime.find_backend("auto")


def test_missing_and_corrupt_model_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        TFLiteModel(tmp_path / "none.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="cannot load"):
        TFLiteModel(bad)


# LiteRT's Delegate.__del__ trips over its own failed load; harmless, and not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_edgetpu_missing_is_a_clear_error(default_loaded):
    path = default_loaded.resolve(default_loaded.config.vision.classifier.model)
    with pytest.raises(ModelError, match="Edge TPU"):
        TFLiteModel(path, edgetpu=True)


def test_int8_input_quantization_uses_scale_and_zero_point():
    m = TFLiteModel.__new__(TFLiteModel)
    m.inputs = [TensorInfo(0, "x", (1, 4), np.dtype(np.int8), 0.5, -3)]
    q = m.quantize_input(np.array([[0.0, 1.0, 100.0, -100.0]], np.float32))
    assert q.dtype == np.int8
    assert q.tolist() == [[-3, -1, 127, -128]]


def test_uint8_input_quantization():
    m = TFLiteModel.__new__(TFLiteModel)
    m.inputs = [TensorInfo(0, "x", (1, 2), np.dtype(np.uint8), 1 / 255, 0)]
    assert m.quantize_input(np.array([[0.0, 1.0]], np.float32)).tolist() == [[0, 255]]
