"""A real mosquitto on a free loopback port, optionally with a password file."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time

import pytest
from real_tools import missing
from svc_helpers import free_port


@pytest.fixture
def auth_broker(tmp_path):
    """(port, user, password) of a broker that requires that login."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not (os.path.exists(exe) and os.path.exists(passwd)):
        missing("mosquitto")
    pwfile = tmp_path / "passwd"
    subprocess.run([passwd, "-c", "-b", str(pwfile), "shop", "s3cret"], check=True)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    # As root mosquitto would switch to user "mosquitto", who cannot read pytest's tmp dirs.
    user = pwd.getpwuid(os.geteuid()).pw_name
    conf.write_text(
        f"listener {port} 127.0.0.1\nuser {user}\nallow_anonymous false\npassword_file {pwfile}\n"
    )
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, "shop", "s3cret"
    proc.terminate()
    proc.wait(5)
