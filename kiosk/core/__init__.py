"""The kiosk's core: one typed API that every front end drives through one dispatcher.

- ``api``: ``KioskApi`` (what front ends may call), ``Status``, ``Origin``, ``CommandError``.
- ``events``: the typed event payloads and the ``EventBus``.
- ``commands``: the command models and table; ``dispatch``: the one ``Dispatcher``.
- ``ports``: what the core needs from the player, the library and its plug-ins.
- ``core``: ``Core``, which implements ``KioskApi`` by composing its controllers:
  ``mood`` (samples, camera, override, decisions), ``playback`` (the player), ``library``
  (what can play, corrections, analysis, play order) and ``controls`` (skip limit, block
  list, announcements).

Front ends import from here or from ``api``/``events``/``dispatch``; the controllers and
``ports`` are the core's own business.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "COMMANDS",
    "EMOTIONS",
    "OPERATOR",
    "STAFF",
    "CommandError",
    "Core",
    "Dispatcher",
    "Event",
    "EventBus",
    "KioskApi",
    "Origin",
    "Status",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "EMOTIONS": "api",
        "OPERATOR": "api",
        "STAFF": "api",
        "CommandError": "api",
        "KioskApi": "api",
        "Origin": "api",
        "Status": "api",
        "Event": "events",
        "EventBus": "events",
        "COMMANDS": "commands",
        "Dispatcher": "dispatch",
        "Core": "core",
    },
)
