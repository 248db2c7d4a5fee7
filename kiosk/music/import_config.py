"""Config for USB music import. (Owned by the service/import work.)"""

from kiosk.settings_base import Section


class ImportConfig(Section):
    """USB music import."""
