"""Config for the MQTT front end. (Owned by the MQTT work.)"""

from kiosk.settings_base import Section


class MqttConfig(Section):
    """MQTT client."""
