"""The MQTT front end on the real Core (with a silent player): commands, mood, stats."""

from __future__ import annotations

import json

from comms_helpers import loaded_for, wait_until
from fakes import FakePlayer, sure_face

from kiosk.comms.mqtt import MqttFrontend
from kiosk.core.api import KioskApi
from kiosk.core.core import Core


def test_real_core_over_mqtt(broker, watch, tmp_path):
    loaded = loaded_for(tmp_path, broker.port, stats_interval_s=0.5)
    core = Core(loaded, FakePlayer(), None)
    assert isinstance(core, KioskApi)
    core.start()
    w = watch(broker.port, ["kiosk/k1/#"])
    fe = MqttFrontend(core, loaded)
    fe.start()
    try:
        wait_until(lambda: fe.ready)
        w.publish("kiosk/k1/cmd/volume", '{"level": 35, "id": 1}')
        w.publish("kiosk/k1/cmd/pause", '{"id": 2}')
        w.publish("kiosk/k1/cmd/override", '{"mood": "no-such-thing", "id": 3}')

        def result(rid):
            m = w.wait(lambda m: m.topic.endswith("/result") and json.loads(m.payload)["id"] == rid)
            return json.loads(m.payload)

        assert result(1)["ok"] and result(2)["ok"]
        refused = result(3)
        assert refused["ok"] is False and refused["error"]
        st = core.status()
        assert st.volume == 35 and st.paused and st.override is None
        w.wait(
            lambda m: (
                m.topic == "kiosk/k1/state"
                and json.loads(m.payload)["paused"]
                and json.loads(m.payload)["volume"] == 35
            )
        )
        for _ in range(6):
            core.add_sample([sure_face("happy"), sure_face("happy")], inference_ms=12.5)
        mood = w.wait(lambda m: m.topic == "kiosk/k1/mood" and json.loads(m.payload)["faces"])
        body = json.loads(mood.payload)
        assert set(body) >= {"ts", "mood", "confidence", "faces", "distribution", "window_s"}
        stats = w.wait(
            lambda m: m.topic == "kiosk/k1/stats" and json.loads(m.payload)["samples"], timeout=5
        )
        s = json.loads(stats.payload)
        assert s["emotions"]["happy"] == 2 * s["samples"] and s["inference_ms"]["mean"] == 12.5
        # aggregates only: nothing that could identify a person
        assert set(s) == {
            "ts", "interval_s", "samples", "faces", "max_faces", "emotions", "inference_ms",
            "camera_errors", "cpu", "temperature_c", "uptime_s", "outbox", "mqtt", "kiosk_id",
            "music_analysis",
        }  # fmt: skip
        assert s["music_analysis"] is None  # no analysis feed on this core
    finally:
        fe.stop()
