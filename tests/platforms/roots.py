"""Fresh Debian 13 roots (amd64, and arm64 under qemu) for the platform checks.

A root is what a shop's Pi starts from: `debootstrap --variant=minbase` with only git, sudo,
ca-certificates and python3 (no compiler), an unprivileged user `shop` with sudo, and a clone
of this repository in its home. Everything after that is done by the README's own commands.

The bare debootstrap result is cached as a tarball for a week (`KIOSK_CI_CACHE`, default
/var/cache/kiosk-ci) because building it is pure waiting (3 min amd64, ~10 min arm64); every
run still installs the kiosk from scratch into a copy of it.

arm64 runs under Debian 13's qemu-user (10.x): Debian 12's qemu 7.2 segfaults inside LiteRT's
interpreter. The emulator is taken out of the amd64 root's own package, registered with the
flags F (opened now, so the chroot needs no copy), C (setuid sudo works) and O/P, and the
host's older qemu-aarch64 entry is switched off for the duration and restored afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUITE = "trixie"
CACHE = Path(os.environ.get("KIOSK_CI_CACHE", "/var/cache/kiosk-ci"))
WORK = Path(os.environ.get("KIOSK_CI_WORK", "/var/tmp/kiosk-ci"))
CACHE_DAYS = 7
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BINFMT_NAME = "kiosk-ci-aarch64"
AARCH64_MAGIC = r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
AARCH64_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
USER = "shop"


class PlatformError(RuntimeError):
    """The host cannot build or enter a root (not root, no debootstrap, no mirror...)."""


def log(msg: str) -> None:
    print(f"[platform {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, **kw)


def mirror() -> str:
    """The host's Debian mirror, so CI uses whatever mirror the machine is set up for."""
    for src in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if not src.exists():
            continue
        text = src.read_text()
        m = re.search(r"^URIs:\s*(\S+)", text, re.M) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+\s+main", text, re.M
        )
        if m and "security" not in m.group(1):
            return m.group(1)
    raise PlatformError("no Debian mirror in /etc/apt/sources.list{,.d/debian.sources}")


def require_host() -> None:
    if os.geteuid() != 0:
        raise PlatformError("the platform checks build chroots: run them as root")
    for tool in ("debootstrap", "chroot", "mount"):
        if shutil.which(tool) is None:
            raise PlatformError(f"{tool} not installed: apt install debootstrap")


def _fresh(path: Path) -> bool:
    return path.exists() and time.time() - path.stat().st_mtime < CACHE_DAYS * 86400


def bare_root(arch: str, dest: Path) -> None:
    """``dest`` becomes a bare minbase root of Debian 13 for ``arch`` (from the cache if fresh)."""
    tarball = CACHE / f"{SUITE}-{arch}-minbase.tar"
    if dest.exists():
        unmount_all(dest)
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if _fresh(tarball):
        log(f"{arch}: bare root from the cache {tarball}")
        run(["tar", "-C", str(dest), "--numeric-owner", "-xpf", str(tarball)])
        return
    log(f"{arch}: debootstrap {SUITE} (minbase, git sudo python3)")
    t0 = time.monotonic()
    run(
        [
            "debootstrap",
            f"--arch={arch}",
            "--variant=minbase",
            "--include=git,ca-certificates,sudo,python3",
            SUITE,
            str(dest),
            mirror(),
        ],
        stdout=subprocess.DEVNULL,
    )
    log(f"{arch}: debootstrap took {time.monotonic() - t0:.0f} s")
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".tar.part")
    run(["tar", "-C", str(dest), "--numeric-owner", "-cpf", str(partial), "."])
    partial.replace(tarball)


def prepare(root: Path, repo: Path) -> Path:
    """Network, certificates and package settings from the host; the user `shop` with sudo
    and a clone of ``repo`` at ~shop/kiosk. Returns the clone's path inside the root."""
    root.chmod(0o755)  # or the unprivileged user inside can run nothing
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    with (root / "etc/hosts").open("a") as hosts:  # sudo looks its own host name up
        hosts.write(f"127.0.1.1 {os.uname().nodename}\n")
    # The registries are reached through the authorities this host trusts.
    local_ca = Path("/usr/local/share/ca-certificates")
    if local_ca.is_dir():
        for crt in local_ca.glob("*.crt"):
            shutil.copy(crt, root / "usr/local/share/ca-certificates" / crt.name)
    for conf in Path("/etc/apt/apt.conf.d").glob("99*"):
        shutil.copy(conf, root / "etc/apt/apt.conf.d" / conf.name)
    if Path("/etc/pip.conf").exists():
        shutil.copy("/etc/pip.conf", root / "etc/pip.conf")
    if Path("/etc/xdg/pip").is_dir():
        shutil.copytree("/etc/xdg/pip", root / "etc/xdg/pip", dirs_exist_ok=True)
    mount_all(root)
    chroot(root, ["update-ca-certificates", "--fresh"], stdout=subprocess.DEVNULL)
    chroot(root, ["useradd", "--create-home", "--shell", "/bin/bash", USER])
    sudoers = root / "etc/sudoers.d" / USER
    sudoers.write_text(f"{USER} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    clone = root / "home" / USER / "kiosk"
    run(["git", "clone", "-q", "--no-hardlinks", str(repo), str(clone)])
    uid = int(chroot(root, ["id", "-u", USER], capture_output=True, text=True).stdout)
    for p in [clone.parent, *clone.parent.rglob("*")]:
        os.lchown(p, uid, uid)
    return Path("/home") / USER / "kiosk"


MOUNTS = ("proc", "sys", "dev", "dev/pts")


def mount_all(root: Path) -> None:
    for m in MOUNTS:
        target = root / m
        target.mkdir(parents=True, exist_ok=True)
        if not os.path.ismount(target):
            run(["mount", "--bind", f"/{m}", str(target)])


def unmount_all(root: Path) -> None:
    """Unmount the root's bind mounts, or raise: deleting a root that still has the host's
    /dev or /sys mounted in it would delete the host's."""
    for m in reversed(MOUNTS):
        target = root / m
        if os.path.ismount(target):
            subprocess.run(["umount", "-l", str(target)], check=False)
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts", encoding="utf-8") as f:
        left = [line.split()[1] for line in f if line.split()[1].startswith(prefix)]
    if left:
        raise PlatformError(f"still mounted under {root}: {', '.join(left)}")


def chroot(root: Path, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return run(["chroot", str(root), *cmd], **kw)


def as_user(root: Path, script: str, timeout: float, env: dict[str, str] | None = None):
    """Run ``script`` with bash as the unprivileged user, in a clean login-like environment."""
    base = {
        "HOME": f"/home/{USER}",
        "USER": USER,
        "LOGNAME": USER,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "CI": "true",
    }
    args = [f"{k}={v}" for k, v in {**base, **(env or {})}.items()]
    cmd = ["runuser", "-u", USER, "--", "env", "-i", *args, "bash", "-c", script]
    return run(
        ["chroot", str(root), *cmd],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- arm64 emulation ---------------------------------------------------------------------


def qemu_from_trixie(amd64_root: Path) -> Path:
    """Debian 13's statically linked qemu-aarch64, unpacked from its package in the amd64 root."""
    dest = WORK / "qemu"
    binary = dest / "usr/bin/qemu-aarch64"
    if binary.exists():
        return binary
    dl = amd64_root / "tmp/qemu-dl"
    dl.mkdir(parents=True, exist_ok=True)
    chroot(amd64_root, ["apt-get", "update", "-qq"])
    chroot(
        amd64_root,
        ["bash", "-c", "cd /tmp/qemu-dl && apt-get download -qq qemu-user"],
    )
    deb = next(dl.glob("qemu-user_*.deb"))
    run(["dpkg-deb", "-x", str(deb), str(dest)])
    # A dynamically linked emulator would need the host's loader inside every chroot.
    with binary.open("rb") as f:
        if b"/lib64/ld-linux" in f.read(4096):
            raise PlatformError(f"{binary} is not statically linked")
    return binary


@contextmanager
def aarch64_binfmt(qemu: Path) -> Iterator[None]:
    """Register ``qemu`` for aarch64 ELF files while the block runs; other entries for
    aarch64 are switched off meanwhile and restored after."""
    if not (BINFMT / "register").exists():
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)])
    switched_off = []
    hex_magic = AARCH64_MAGIC.replace("\\x", "")
    for entry in BINFMT.iterdir():
        if entry.name in ("register", "status", BINFMT_NAME):
            continue
        text = entry.read_text()
        if text.startswith("enabled") and f"magic {hex_magic}" in text:
            entry.write_text("0")
            switched_off.append(entry)
    own = BINFMT / BINFMT_NAME
    if own.exists():
        own.write_text("-1")
    (BINFMT / "register").write_text(
        f":{BINFMT_NAME}:M::{AARCH64_MAGIC}:{AARCH64_MASK}:{qemu}:OCPF"
    )
    try:
        yield
    finally:
        if own.exists():
            own.write_text("-1")
        for entry in switched_off:
            if entry.exists():
                entry.write_text("1")
