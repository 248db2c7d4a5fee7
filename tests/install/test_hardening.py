"""The unit's riskiest hardening, tried on the real code paths without systemd.

``MemoryDenyWriteExecute=yes`` breaks anything that JIT-compiles (some BLAS, XNNPACK builds
with JIT, codecs). Linux >= 6.3 offers the same rule per process via prctl(PR_SET_MDWE), so
a child process turns it on and runs the models, libvlc and numpy.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import ctypes, sys
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        sys.exit(77)  # kernel older than 6.3
    libc.mmap.restype = ctypes.c_void_p
    page = libc.mmap(None, 4096, 3, 0x22, -1, 0)  # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS
    assert libc.mprotect(ctypes.c_void_p(page), 4096, 5) != 0, "MDWE not in force"
    import numpy
    from kiosk.camera.compose import photo
    from kiosk.check.audio import check_audio
    from kiosk.config import load_config
    from kiosk.vision.pipeline import Pipeline
    result = Pipeline.from_config(load_config(None)).process(photo().copy())
    assert result.faces, "no face under MDWE"
    audio = check_audio("afile", ["--audiofile-file=" + sys.argv[1]])
    assert audio.ok, audio.detail
    assert float(numpy.ones((64, 64)) @ numpy.ones(64) @ numpy.ones(64)) == 4096.0
    print("ok")
    """
)


def test_models_vlc_numpy_work_under_memory_deny_write_execute(tmp_path):
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "tone.wav")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode == 77:
        pytest.skip("kernel without PR_SET_MDWE (needs Linux 6.3+)")
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
