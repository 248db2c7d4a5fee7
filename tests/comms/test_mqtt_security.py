"""The documented broker setup: password file + docs/mosquitto/kiosk.acl, and TLS."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess
import time
from pathlib import Path

from broker import Broker, free_port, password_file
from comms_helpers import FakeApi, wait_until
from real_tools import missing

from kiosk.check.network import check_mqtt
from kiosk.comms.client import connect_error
from kiosk.config import load_config

ACL = Path(__file__).resolve().parents[2] / "docs" / "mosquitto" / "kiosk.acl"


def passwd(tmp_path: Path, users: dict[str, str]) -> Path:
    return password_file(tmp_path / "passwd", users)


def test_acl_pins_each_kiosk_to_its_own_topics(make_broker, watch, frontend, tmp_path, monkeypatch):
    pw = passwd(tmp_path, {"operator": "op-pw", "k1": "k1-pw", "k2": "k2-pw"})
    b = make_broker(f"allow_anonymous false\npassword_file {pw}\nacl_file {ACL}")
    monkeypatch.setenv("K1_PW", "k1-pw")
    api = FakeApi()
    fe = frontend(api, b.port, kiosk_id="k1", username="k1", password_env="K1_PW")
    wait_until(lambda: fe.ready)
    op = watch(b.port, ["kiosk/#", "homeassistant/#"], auth=("operator", "op-pw"))
    op.wait(lambda m: m.topic == "kiosk/k1/availability" and m.payload == b"online")
    op.wait(lambda m: m.topic == "kiosk/k1/state")
    op.wait(lambda m: m.topic.startswith("homeassistant/sensor/k1/"))  # discovery allowed

    # another kiosk's credentials can neither command k1 nor fake its state
    rogue = watch(b.port, ["kiosk/k1/#"], auth=("k2", "k2-pw"))
    rogue.publish("kiosk/k1/cmd/pause", '{"id": "rogue"}')
    rogue.publish("kiosk/k1/state", '{"fake": true}', retain=True)
    op.publish("kiosk/k1/cmd/volume", '{"level": 9, "id": "op"}')
    r = op.wait(lambda m: m.topic == "kiosk/k1/cmd/result" and b'"op"' in m.payload)
    assert json.loads(r.payload)["ok"] and api.status().volume == 9
    op.drain(0.3)
    assert not api.status().paused
    assert not any(b"rogue" in m.payload or b"fake" in m.payload for m in op.seen)
    assert not any(m.topic.startswith("kiosk/k1") for m in rogue.drain(0.2))  # cannot read

    # The documented response topic reply/<kiosk id>/... is writable for k1 and readable
    # for the operator.
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    replies = watch(b.port, ["reply/#"], auth=("operator", "op-pw"))
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "reply/k1/req-7"
    op.publish("kiosk/k1/cmd/status", '{"id": "rt"}', properties=props)
    m = replies.wait(lambda m: m.topic == "reply/k1/req-7")
    assert json.loads(m.payload)["id"] == "rt"


def openssl(d: Path, *args: str) -> None:
    if not shutil.which("openssl"):
        missing("openssl")
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)


def make_ca(d: Path, name: str, key_usage: bool = True) -> Path:
    """A CA as docs/ and the kiosk's TLS error tell shops to make it; ``key_usage=False``
    is the common home-made CA that strict X.509 verification refuses."""
    ext = ["-addext", "basicConstraints=critical,CA:TRUE"]
    if key_usage:
        ext += ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={name}", *ext, "-keyout", f"{name}.key", "-out", f"{name}.crt")  # fmt: skip
    return d / f"{name}.crt"


def make_server_cert(d: Path, ca: str) -> tuple[Path, Path]:
    """localhost's certificate signed by CA ``ca`` (made by make_ca in ``d``)."""
    name = f"server-{ca}"
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey",
            f"{ca}.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext",
            "-out", f"{name}.crt")  # fmt: skip
    return d / f"{name}.crt", d / f"{name}.key"


def tls_broker(make_broker, crt: Path, key: Path) -> tuple[Broker, int]:
    """A broker with a plain listener (for watchers) and a TLS one; (broker, TLS port)."""
    tls_port = free_port()
    b = make_broker(
        f"allow_anonymous true\nlistener {tls_port} 127.0.0.1\n"
        f"certfile {crt}\nkeyfile {key}\nallow_anonymous true"
    )
    return b, tls_port


def test_tls_verifies_the_broker(make_broker, watch, frontend, tmp_path, caplog):
    ca, other_ca = make_ca(tmp_path, "ca"), make_ca(tmp_path, "other-ca")
    b, tls_port = tls_broker(make_broker, *make_server_cert(tmp_path, "ca"))
    w = watch(b.port, ["kiosk/+/availability"])
    good = frontend(FakeApi(), tls_port, kiosk_id="tls1", tls={"enabled": True, "ca": str(ca)})
    wait_until(lambda: good.ready, timeout=10)
    w.wait(lambda m: m.topic == "kiosk/tls1/availability" and m.payload == b"online")

    caplog.set_level(logging.ERROR, logger="kiosk.comms")
    bad = frontend(
        FakeApi(),
        tls_port,
        kiosk_id="tls2",
        outbox_path=str(tmp_path / "o2.sqlite"),
        tls={"enabled": True, "ca": str(other_ca)},
    )
    wait_until(lambda: bad.counters["connect_failures"] >= 1, timeout=10)
    time.sleep(0.2)
    assert not bad.connected
    assert "certificate verify failed" in caplog.text, caplog.text


def test_a_ca_without_key_usage_is_refused_with_one_clear_line(
    make_broker, frontend, tmp_path, caplog
):
    # Python 3.13 refuses this CA by default; the kiosk refuses it on every Python.
    make_ca(tmp_path, "homemade", key_usage=False)
    _b, tls_port = tls_broker(make_broker, *make_server_cert(tmp_path, "homemade"))
    caplog.set_level(logging.ERROR, logger="kiosk.comms")
    fe = frontend(FakeApi(), tls_port, tls={"enabled": True, "ca": str(tmp_path / "homemade.crt")})
    wait_until(lambda: "unreachable" in caplog.text, timeout=10)
    assert not fe.connected
    lines = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "CA certificate (mqtt.tls.ca) is refused (CA cert does not include key usage" in lines[0]
    assert "lacks the keyUsage extension" in lines[0]
    assert '-addext "keyUsage=critical,keyCertSign,cRLSign"' in lines[0]
    # `kiosk check` (and `kiosk ctl`, the import's progress) say the same.
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {tls_port}\n"
        f"  tls:\n    enabled: true\n    ca: {tmp_path / 'homemade.crt'}\n"
    )
    c = check_mqtt(load_config(cfg), timeout_s=5)
    assert not c.ok and "lacks the keyUsage extension" in c.detail, c.detail


def test_other_connect_errors_keep_their_own_words():
    hostname = ssl.SSLCertVerificationError(1, "certificate verify failed: Hostname mismatch")
    hostname.verify_message = "Hostname mismatch, certificate is not valid for 'x'"
    assert connect_error(hostname) == str(hostname)
    assert connect_error(ConnectionRefusedError(111, "Connection refused")).endswith("refused")
    assert connect_error(TimeoutError()) == "TimeoutError"
