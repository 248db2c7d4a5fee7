"""``kiosk ctl`` end to end: a real broker, two kiosks, the real command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from comms_helpers import FakeApi, free_port, wait_until
from real_tools import missing


@pytest.fixture
def ctl(capsys):
    """Run `kiosk ctl` in-process (the CLI entry point, without interpreter start-up)."""
    from kiosk.cli import main

    def run(port: int, *args: str, timeout: float = 3.0) -> subprocess.CompletedProcess:
        argv = ["ctl", "--host", "127.0.0.1", "--port", str(port), "--timeout", str(timeout)]
        capsys.readouterr()
        rc = main([*argv, *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, rc, out.out, out.err)

    return run


@pytest.fixture
def fleet(broker, frontend, tmp_path):
    a, b = FakeApi(), FakeApi()
    fa = frontend(a, broker.port, kiosk_id="k1", groups=["north"])
    fb = frontend(
        b, broker.port, kiosk_id="k2", groups=["south"], outbox_path=str(tmp_path / "k2.sqlite")
    )
    wait_until(lambda: fa.ready and fb.ready)
    return broker.port, a, b


def test_list_and_commands_to_one_group_and_all(fleet, ctl):
    port, a, b = fleet
    out = ctl(port, "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["kiosk_id"]: r for r in json.loads(out.stdout)}
    assert rows["k1"]["online"] and rows["k2"]["groups"] == ["south"]
    assert "k1" in ctl(port, "list").stdout

    out = ctl(port, "k1", "volume", '{"level": 20}')
    assert out.returncode == 0 and out.stdout.strip() == "k1: ok", out
    assert a.status().volume == 20 and b.status().volume == 50

    out = ctl(port, "group:north", "pause", "--json")
    body = json.loads(out.stdout)
    assert out.returncode == 0 and [r["kiosk_id"] for r in body["results"]] == ["k1"]
    assert a.status().paused and not b.status().paused

    out = ctl(port, "all", "status", "--json")
    body = json.loads(out.stdout)
    assert out.returncode == 0 and body["missing"] == []
    assert sorted(r["kiosk_id"] for r in body["results"]) == ["k1", "k2"]
    assert {r["kiosk_id"]: r["status"]["paused"] for r in body["results"]} == {
        "k1": True,
        "k2": False,
    }


def test_refusals_and_failures_have_exit_codes(fleet, ctl):
    port, a, _ = fleet
    out = ctl(port, "k1", "volume", '{"level": 200}')
    assert out.returncode == 2 and "less than or equal to 100" in out.stderr
    out = ctl(port, "k1", "dance")
    assert out.returncode == 2 and "unknown command 'dance'" in out.stderr
    out = ctl(port, "k1", "override", '{"mood": "disco"}')
    assert out.returncode == 1 and "FAILED: no playlist for 'disco'" in out.stdout
    out = ctl(port, "k9", "pause", timeout=0.5)
    assert out.returncode == 1 and "k9: no answer" in out.stdout
    assert a.calls == []


def test_cli_entry_point_works(fleet):
    port = fleet[0]
    cmd = [sys.executable, "-m", "kiosk", "ctl", "--port", str(port), "--host", "127.0.0.1"]
    out = subprocess.run([*cmd, "k2", "next"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "k2: ok", out


def test_unreachable_broker_is_a_clear_error(ctl):
    out = ctl(free_port(), "list", timeout=1)
    assert out.returncode == 1 and "cannot reach broker" in out.stderr


def test_ctl_logs_in_with_a_password_file(make_broker, frontend, ctl, tmp_path, monkeypatch):
    import shutil

    if not shutil.which("mosquitto_passwd"):
        missing("mosquitto_passwd")
    pw = tmp_path / "passwd"
    for i, (user, secret) in enumerate({"operator": "op-pw", "k1": "k1-pw"}.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run(["mosquitto_passwd", *flags, "-b", str(pw), user, secret], check=True)
    b = make_broker(f"allow_anonymous false\npassword_file {pw}")
    monkeypatch.setenv("K1_PW", "k1-pw")
    fe = frontend(FakeApi(), b.port, username="k1", password_env="K1_PW")
    wait_until(lambda: fe.ready)
    (tmp_path / "op").write_text("op-pw\n")
    monkeypatch.chdir(tmp_path)  # a relative --password-file is relative to the shell
    out = ctl(b.port, "--username", "operator", "--password-file", "op", "k1", "status")
    assert out.returncode == 0 and out.stdout.startswith("k1: ok"), out
    (tmp_path / "op").write_text("wrong\n")
    out = ctl(b.port, "--username", "operator", "--password-file", "op", "list")
    assert out.returncode == 1 and "refused" in out.stderr and "wrong" not in out.stderr
