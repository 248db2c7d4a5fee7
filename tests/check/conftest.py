"""A real mosquitto on a free loopback port, optionally with a password file."""

from __future__ import annotations

import pytest
from broker import Broker, password_file


@pytest.fixture
def auth_broker(tmp_path):
    """(port, user, password) of a broker that requires that login."""
    pwfile = password_file(tmp_path / "passwd", {"shop": "s3cret"})
    b = Broker(tmp_path / "broker", f"allow_anonymous false\npassword_file {pwfile}").start()
    yield b.port, "shop", "s3cret"
    b.stop()
