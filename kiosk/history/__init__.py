"""Local history: what the shop felt, what played, whether the music helped.

``kiosk.history.attach.attach`` hangs a recorder off the core's event bus (it never calls
into the core) and gives the core the reporter behind the MQTT ``report`` command.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "HistoryConfig",
    "Recorder",
    "attach",
    "render",
    "report",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "HistoryConfig": "config",
        "attach": "attach",
        "Recorder": "recorder",
        "report": "summary",
        "render": "page",
    },
)
