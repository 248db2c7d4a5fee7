"""Every runtime dependency installs from a wheel on every supported Python and CPU.

A shop's Pi or Jetson has no compiler: one dependency without a wheel for its Python (as
pyebur128 had none for 3.13) breaks the README's first command there. pip resolves the whole
tree for each target without installing it (PyPI serves the metadata alone).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import requires

import pytest

# Installs and emulation run for many minutes; each call has its own timeout.
pytestmark = [pytest.mark.platform, pytest.mark.timeout(4800)]

# glibc: Ubuntu 22.04 (JetPack 6) 2.35, Debian 12 2.36, Ubuntu 24.04 2.39, Debian 13 2.41.
# pip does not expand lower manylinux versions for --platform, so every one is named.
GLIBC = [f"manylinux_2_{minor}" for minor in range(17, 36)]
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
ARCHES = ["x86_64", "aarch64"]


def runtime_requirements() -> list[str]:
    reqs = [r for r in requires("mood-kiosk") or [] if "extra ==" not in r]
    assert reqs, "the kiosk's metadata lists no dependency: is it installed (pip -e .)?"
    return reqs


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("python", PYTHONS)
def test_every_dependency_has_a_wheel(python, arch, tmp_path):
    platforms = [f"--platform={tag}_{arch}" for tag in GLIBC] + [f"--platform=manylinux2014_{arch}"]
    abi = "cp" + python.replace(".", "")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--disable-pip-version-check",
            "--ignore-installed",
            "--only-binary=:all:",
            f"--target={tmp_path / 'target'}",
            f"--python-version={python}",
            "--implementation=cp",
            f"--abi={abi}",
            *platforms,
            f"--report={tmp_path / 'report.json'}",
            *runtime_requirements(),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, f"no wheel for Python {python} on {arch}:\n{r.stderr[-3000:]}"
    report = json.loads((tmp_path / "report.json").read_text())
    names = {item["metadata"]["name"].lower() for item in report["install"]}
    assert {"numpy", "ai-edge-litert", "opencv-python-headless", "python-vlc"} <= names, names
