"""``kiosk check``: the installer's self-test, one probe per part the kiosk needs.

Each probe returns a ``Check`` (what it found and, when it failed, how to fix it):
``camera`` (camera and models), ``audio``, ``music`` (music and disk), ``network`` (MQTT)
and ``clock``. ``runner.run_checks`` runs them all, each with a deadline; the command
line is ``kiosk/commands/check.py``.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "CHECK_NAMES",
    "Check",
    "check_audio",
    "check_camera",
    "check_clock",
    "check_disk",
    "check_models",
    "check_mqtt",
    "check_music",
    "config_failure",
    "player_aout",
    "run_checks",
    "with_timeout",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CHECK_NAMES": "result",
        "Check": "result",
        "with_timeout": "result",
        "check_camera": "camera",
        "check_models": "camera",
        "check_audio": "audio",
        "player_aout": "audio",
        "check_music": "music",
        "check_disk": "music",
        "check_mqtt": "network",
        "check_clock": "clock",
        "config_failure": "runner",
        "run_checks": "runner",
    },
)
