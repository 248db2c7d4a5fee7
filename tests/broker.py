"""The one mosquitto test broker: a real mosquitto on a free loopback port.

Used by every test area (``from broker import Broker, need_mosquitto``). Under ``CI=true``
a missing mosquitto fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or (
    "/usr/bin/mosquitto_passwd" if os.path.exists("/usr/bin/mosquitto_passwd") else None
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing(what: str) -> None:
    msg = f"{what} not installed (apt install mosquitto)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{msg}; CI must run the real broker tests")
    pytest.skip(msg)


def need_mosquitto(passwd: bool = False) -> None:
    """Skip (fail under CI=true) unless mosquitto (and mosquitto_passwd) are installed."""
    if MOSQUITTO is None:
        _missing("mosquitto")
    if passwd and MOSQUITTO_PASSWD is None:
        _missing("mosquitto_passwd")


def password_file(path: Path, users: dict[str, str]) -> Path:
    """A mosquitto password file with these users."""
    need_mosquitto(passwd=True)
    for i, (user, secret) in enumerate(users.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run([MOSQUITTO_PASSWD, *flags, "-b", str(path), user, secret], check=True)
    path.chmod(0o600)
    return path


class Broker:
    """One mosquitto process; ``stop``/``start`` again on the same port to simulate outages.

    ``extra`` replaces ``allow_anonymous true`` (auth, ACL, more listeners).
    """

    def __init__(self, workdir: Path, extra: str = "", persistence: str = "") -> None:
        need_mosquitto()
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.extra = extra
        self.persistence = persistence  # e.g. "autosave_interval 1\n"
        self.proc: subprocess.Popen | None = None
        self.conf = self.dir / "mosquitto.conf"

    def start(self, fresh: bool = False) -> Broker:
        if fresh:
            for f in self.dir.glob("*.db"):
                f.unlink()
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            # As root mosquitto would switch to user "mosquitto", who cannot read tmp files.
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            f"persistence true\npersistence_location {self.dir}/\n{self.persistence}"
            f"{self.extra or 'allow_anonymous true'}\n"
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "mosquitto.log", "ab"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    log = (self.dir / "mosquitto.log").read_text(errors="replace")
                    raise RuntimeError(f"mosquitto exited: {log[-2000:]}") from None
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def send(self, sig: int) -> None:
        """Send a signal without waiting (SIGSTOP/SIGCONT a hung broker)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            if sig != signal.SIGKILL:
                self.proc.send_signal(signal.SIGCONT)  # a stopped broker cannot exit
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None
