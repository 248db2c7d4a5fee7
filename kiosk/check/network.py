"""The MQTT check: the broker in ``mqtt`` accepts the kiosk's login."""

from __future__ import annotations

from kiosk.check.result import Check


def check_mqtt(loaded, timeout_s: float = 5.0) -> Check:
    cfg = loaded.config.mqtt
    if not cfg.enabled:
        return Check("mqtt", True, False, "MQTT disabled (mqtt.enabled: false)")
    from kiosk.usb_import.notify import connect_mqtt

    fix = (
        f"check mqtt.host/port ({cfg.host}:{cfg.port}) are reachable from here "
        "(`nc -vz HOST PORT`), the user name and password source, and TLS settings"
    )
    try:
        client = connect_mqtt(loaded, "check", timeout_s)
    except ConnectionError as exc:
        return Check("mqtt", False, True, str(exc), fix)
    client.disconnect()
    client.loop_stop()
    who = f" as {cfg.username}" if cfg.username else ""
    return Check("mqtt", True, True, f"connected to {cfg.host}:{cfg.port}{who}")
