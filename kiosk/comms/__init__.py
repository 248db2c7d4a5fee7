"""The MQTT front end and the command dispatcher every remote front end shares.

``MqttFrontend`` (``mqtt.py``) takes commands (``mqtt_commands.py``), publishes state and
Home Assistant discovery (``mqtt_state.py``, ``discovery.py``) and queues messages while the
broker is away (``outbox.py``). ``Dispatcher`` (``commands.py``) validates a command and calls
the core; ``new_client`` (``client.py``) is the one MQTT client factory.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "Dispatcher",
    "MqttConfig",
    "MqttFrontend",
    "Outbox",
    "Topics",
    "new_client",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "MqttConfig": "config",
        "MqttFrontend": "mqtt",
        "Dispatcher": "commands",
        "new_client": "client",
        "Topics": "topics",
        "Outbox": "outbox",
    },
)
