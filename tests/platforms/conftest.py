"""Fresh Debian 13 roots for the platform checks (`pytest -m platform tests/platforms`).

These build chroots as root and take most of CI's time (amd64 ~8 min, arm64 under qemu
~40 min), so the everyday suite leaves them out (`-m "not platform"` in pyproject.toml);
`bash scripts/bootstrap.sh platforms` and CI run them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import roots

REPO = Path(__file__).resolve().parents[2]


def _root_or_fail() -> None:
    try:
        roots.require_host()
    except roots.PlatformError as exc:
        # Never a silent skip: someone asked for the platform checks explicitly.
        pytest.fail(f"platform checks cannot run here: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def amd64_root():
    _root_or_fail()
    root = roots.WORK / "trixie-amd64"
    roots.bare_root("amd64", root)
    roots.prepare(root, REPO)
    yield root
    roots.unmount_all(root)


@pytest.fixture(scope="session")
def arm64_root(amd64_root):
    qemu = roots.qemu_from_trixie(amd64_root)
    root = roots.WORK / "trixie-arm64"
    with roots.aarch64_binfmt(qemu):
        roots.bare_root("arm64", root)
        roots.prepare(root, REPO)
        yield root
        roots.unmount_all(root)


def pytest_sessionfinish(session, exitstatus):
    # The roots are ~1-2 GB each once installed; keep only the cache of bare roots.
    if exitstatus == 0 and roots.WORK.exists():
        for root in roots.WORK.glob("trixie-*"):
            roots.unmount_all(root)
            shutil.rmtree(root, ignore_errors=True)
