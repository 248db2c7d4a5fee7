"""Home Assistant MQTT discovery: one device per kiosk with its sensors and controls.

Each entity gets its own retained config at
``<discovery_prefix>/<component>/<kiosk_id>/<object>/config``; all share one ``device`` block
so Home Assistant groups them, and all use the kiosk's availability topic.
"""

from __future__ import annotations

from typing import Any

from kiosk import __version__
from kiosk.comms.topics import Topics
from kiosk.core.api import EMOTIONS
from kiosk.core.commands import AUTO


def discovery_messages(topics: Topics, discovery_prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """(topic, config) for every entity of this kiosk."""
    kid = topics.kiosk_id
    uid = f"{topics.prefix.replace('/', '_')}_{kid}"
    device = {
        "identifiers": [uid],
        "name": f"Mood kiosk {kid}",
        "manufacturer": "mood-kiosk",
        "model": "Mood kiosk",
        "sw_version": __version__,
    }
    common = {
        "device": device,
        "availability_topic": topics.availability,
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    entities: list[tuple[str, str, dict[str, Any]]] = [
        (
            "sensor",
            "mood",
            {
                "name": "Mood",
                "state_topic": topics.state,
                "value_template": "{{ value_json.mood or 'none' }}",
                "icon": "mdi:emoticon-outline",
            },
        ),
        (
            "sensor",
            "confidence",
            {
                "name": "Mood confidence",
                "state_topic": topics.state,
                "value_template": "{{ (value_json.confidence * 100) | round(0) }}",
                "unit_of_measurement": "%",
                "state_class": "measurement",
            },
        ),
        (
            "sensor",
            "faces",
            {
                "name": "Faces",
                "state_topic": topics.state,
                "value_template": "{{ value_json.faces }}",
                "state_class": "measurement",
                "icon": "mdi:account-group",
            },
        ),
        (
            "sensor",
            "now_playing",
            {
                "name": "Now playing",
                "state_topic": topics.state,
                "value_template": (
                    "{% set t = value_json.track %}{{ (t.title or t.path) if t else 'nothing' }}"
                ),
                "json_attributes_topic": topics.state,
                "json_attributes_template": "{{ (value_json.track or {}) | tojson }}",
                "icon": "mdi:music",
            },
        ),
        (
            "number",
            "volume",
            {
                "name": "Volume",
                "state_topic": topics.state,
                "value_template": "{{ value_json.volume }}",
                "command_topic": topics.cmd("volume"),
                "command_template": '{"level": {{ value | int }}}',
                "min": 0,
                "max": 100,
                "step": 1,
                "mode": "slider",
                "icon": "mdi:volume-high",
            },
        ),
        (
            "select",
            "override",
            {
                "name": "Mood override",
                "state_topic": topics.state,
                "value_template": (
                    "{{ value_json.override.mood if value_json.override else '" + AUTO + "' }}"
                ),
                "command_topic": topics.cmd("override"),
                "command_template": '{"mood": "{{ value }}"}',
                "options": [AUTO, *EMOTIONS],
                "icon": "mdi:playlist-music",
            },
        ),
    ]
    for name, label, icon, press in (
        ("next", "Next track", "mdi:skip-next", "{}"),
        ("pause", "Pause", "mdi:pause", "{}"),
        ("resume", "Resume", "mdi:play", "{}"),
        ("block", "Block this track", "mdi:cancel", '{"track": "current"}'),
    ):
        entities.append(
            (
                "button",
                name,
                {
                    "name": label,
                    "command_topic": topics.cmd(name),
                    "payload_press": press,
                    "icon": icon,
                },
            )
        )
    out = []
    for component, obj, cfg in entities:
        # default_entity_id replaced object_id (deprecated in HA 2025.10, gone in 2026.4).
        payload = {
            **cfg,
            **common,
            "unique_id": f"{uid}_{obj}",
            "default_entity_id": f"{component}.{uid}_{obj}",
        }
        out.append((f"{discovery_prefix}/{component}/{kid}/{obj}/config", payload))
    return out
