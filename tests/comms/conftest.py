"""Fixtures: a real mosquitto on a free loopback port, watching clients, front ends."""

from __future__ import annotations

import pytest
from broker import Broker
from comms_helpers import Watcher, loaded_for


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def make_broker(tmp_path):
    """Factory for brokers with extra config (auth, ACL)."""
    made: list[Broker] = []

    def make(extra: str) -> Broker:
        b = Broker(tmp_path / f"broker{len(made)}", extra)
        b.start()
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture
def watch():
    made: list[Watcher] = []

    def make(port: int, topics: list[str], session: str | None = None, auth=None) -> Watcher:
        w = Watcher(port, topics, session, auth)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


@pytest.fixture
def frontend(tmp_path):
    """Factory: (api, port, **mqtt settings) -> started MqttFrontend, stopped after the test."""
    from kiosk.comms.mqtt import MqttFrontend

    made: list[MqttFrontend] = []

    def make(api, port: int, **mqtt) -> MqttFrontend:
        fe = MqttFrontend(api, loaded_for(tmp_path, port, **mqtt))
        fe.start()
        made.append(fe)
        return fe

    yield make
    for fe in made:
        fe.stop()
