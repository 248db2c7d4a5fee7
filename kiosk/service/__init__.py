"""The daemon: the core and the loop that feeds it.

``Daemon`` (``app.py``) wires the parts together (``parts.py``) and starts the main loop
(``loop.py``) or the simulation (``simulate.py``); ``Core`` (``core.py``) is the one API every
front end calls. Around them: reloads (``reload.py``), the front ends (``front_ends.py``), the
camera with back-off (``camera_feed.py``), the music analysis feed (``analysis_feed.py``),
systemd notify (``notify.py``), logging (``logs.py``) and start-up errors (``startup.py``).
"""

from kiosk.exports import lazy_exports

__all__ = [
    "Clock",
    "Core",
    "Daemon",
    "RealClock",
    "ServiceConfig",
    "SimClock",
    "StartupError",
    "setup_logging",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "ServiceConfig": "config",
        "Daemon": "app",
        "Core": "core",
        "Clock": "clock",
        "RealClock": "clock",
        "SimClock": "clock",
        "StartupError": "startup",
        "setup_logging": "logs",
    },
)
