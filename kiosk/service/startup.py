"""Start-up failures: one line on stderr naming the key and the fix, never a traceback.

Exit code 2 means the config or the machine's set-up is wrong, which a restart cannot fix:
the unit's ``RestartPreventExitStatus=2`` then stops systemd from restarting. Anything else
that fails at start-up exits 1 (and may be worth a restart).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from kiosk.config import ConfigError, LoadedConfig

log = logging.getLogger("kiosk.service.daemon")


class StartupError(Exception):
    """The daemon cannot start (bad models, bad music root...); exit code 2."""


def player_config(loaded: LoadedConfig, backend: str | None) -> Any:
    """The player section, with ``--player`` applied and validated like the file's keys."""
    from pydantic import ValidationError

    pcfg = loaded.config.player
    if backend is None:
        return pcfg
    try:
        # model_copy(update=...) would skip validation and run VLC for any unknown name.
        return type(pcfg).model_validate({**pcfg.model_dump(), "backend": backend})
    except ValidationError:
        choices = ", ".join(player_backends())
        raise StartupError(f"--player {backend!r}: unknown player backend; use {choices}") from None


def player_backends() -> list[str]:
    from typing import get_args

    from kiosk.player.config import PlayerConfig

    return list(get_args(PlayerConfig.model_fields["backend"].annotation))


# Start-up failures that a restart cannot fix: the config or the machine's set-up is wrong.
_CONFIG_ERRORS: tuple[type[BaseException], ...] = (
    StartupError,
    PermissionError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
)


def startup_failed(exc: BaseException) -> int:
    """One line on stderr, never a traceback (that goes to the debug log)."""
    from pydantic import ValidationError

    log.debug("start-up failed", exc_info=exc)
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (*_CONFIG_ERRORS, ConfigError, ValidationError)):
        print(f"kiosk: {text}", file=sys.stderr)
        return 2
    print(f"kiosk: start-up failed: {type(exc).__name__}: {text}", file=sys.stderr)
    return 1
