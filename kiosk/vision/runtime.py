"""TFLite interpreter backends behind one small interface.

Order of preference: ai_edge_litert (LiteRT, works with NumPy 2) → tflite_runtime (old
Jetson images, NumPy 1.x) → tensorflow.lite. Quantized tensors are handled generically from
each tensor's scale and zero-point, so float, int8 and uint8 models all take and return
float arrays.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.native_stderr import native_stderr_to_log

log = logging.getLogger(__name__)

BACKENDS: dict[str, tuple[str, str]] = {
    # name: (module, attribute holding the interpreter module)
    "ai_edge_litert": ("ai_edge_litert.interpreter", ""),
    "tflite_runtime": ("tflite_runtime.interpreter", ""),
    "tensorflow": ("tensorflow", "lite"),
}
AUTO_ORDER = ("ai_edge_litert", "tflite_runtime", "tensorflow")
EDGETPU_LIB = "libedgetpu.so.1"


class RuntimeUnavailable(RuntimeError):
    """No TFLite interpreter could be imported."""


class ModelError(RuntimeError):
    """A model file that is missing, unreadable or not what the caller expects."""


@dataclass(frozen=True)
class Backend:
    name: str
    interpreter_cls: Callable[..., Any]
    load_delegate: Callable[..., Any] | None


def _import_backend(name: str) -> Backend:
    module_name, attr = BACKENDS[name]
    module = importlib.import_module(module_name)
    if attr:
        module = getattr(module, attr)
    return Backend(name, module.Interpreter, getattr(module, "load_delegate", None))


def find_backend(preferred: str = "auto") -> Backend:
    """Import the first available interpreter backend, or explain what to install."""
    order = AUTO_ORDER if preferred == "auto" else (preferred,)
    errors = []
    for name in order:
        try:
            return _import_backend(name)
        except Exception as exc:  # ImportError, or a NumPy ABI mismatch raised at import
            errors.append(f"{name}: {exc.__class__.__name__}: {exc}")
    raise RuntimeUnavailable(
        "no TFLite runtime could be loaded ("
        + "; ".join(errors)
        + "). Install one: `pip install ai-edge-litert` (recommended), or on old Jetson "
        "images `pip install tflite-runtime 'numpy<2'`."
    )


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.dtype in (np.int8, np.uint8) and self.scale > 0


def _info(d: dict[str, Any]) -> TensorInfo:
    scale, zp = d.get("quantization", (0.0, 0))
    return TensorInfo(
        d["index"],
        d["name"],
        tuple(int(s) for s in d["shape"]),
        np.dtype(d["dtype"]),
        float(scale),
        int(zp),
    )


class TFLiteModel:
    """One loaded model. ``run`` takes float input and returns float outputs."""

    def __init__(
        self,
        path: str | Path,
        num_threads: int = 1,
        backend: str = "auto",
        edgetpu: bool = False,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        self.backend = find_backend(backend)
        delegates = []
        if edgetpu:
            if self.backend.load_delegate is None:
                raise ModelError(f"backend {self.backend.name} cannot load delegates")
            try:
                delegates.append(self.backend.load_delegate(EDGETPU_LIB))
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"Edge TPU delegate {EDGETPU_LIB} failed to load ({exc}); install "
                    "libedgetpu1-std and plug in the Coral, or set vision.runtime.edgetpu: false"
                ) from None
        try:
            # LiteRT's C++ code prints "INFO: Created TensorFlow Lite XNNPACK delegate for
            # CPU." on fd 2 here; it goes to this module's log at DEBUG instead.
            with native_stderr_to_log(log):
                self._interp = self.backend.interpreter_cls(
                    model_path=str(self.path),
                    num_threads=num_threads,
                    experimental_delegates=delegates or None,
                )
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {self.path}: {exc}") from None
        self.inputs = [_info(d) for d in self._interp.get_input_details()]
        self.outputs = [_info(d) for d in self._interp.get_output_details()]
        self.invoke_ms_total = 0.0
        self.invoke_count = 0

    @property
    def input(self) -> TensorInfo:
        return self.inputs[0]

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        info = self.input
        if x.dtype == info.dtype:
            return x  # already in the tensor's own representation
        if info.quantized:
            lo, hi = np.iinfo(info.dtype).min, np.iinfo(info.dtype).max
            q = np.rint(x / info.scale + info.zero_point)
            return np.clip(q, lo, hi).astype(info.dtype)
        return x.astype(info.dtype, copy=False)

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Invoke on one float input batch; returns the outputs dequantized to float32."""
        import time

        self._interp.set_tensor(self.input.index, self.quantize_input(x))
        t0 = time.perf_counter()
        self._interp.invoke()
        self.invoke_ms_total += (time.perf_counter() - t0) * 1000.0
        self.invoke_count += 1
        outs = []
        for info in self.outputs:
            y = self._interp.get_tensor(info.index)
            if info.quantized:
                y = (y.astype(np.float32) - info.zero_point) * info.scale
            outs.append(y.astype(np.float32, copy=False))
        return outs

    def reset_stats(self) -> None:
        self.invoke_ms_total = 0.0
        self.invoke_count = 0
