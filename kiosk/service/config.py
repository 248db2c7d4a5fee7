"""Config for the daemon: logging, state directory, watchdog. (Owned by the daemon work.)"""

from kiosk.settings_base import Section


class ServiceConfig(Section):
    """Daemon settings."""
