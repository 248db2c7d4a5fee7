"""One formatter for pydantic validation errors: config files, commands, model sidecars.

Every place that turns a ``ValidationError`` into words for a person goes through
``describe_errors``, so a config key, a command payload and a sidecar field read alike:
``<dotted.location>: <message>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

# What an operator reads for a key the model does not know, by context.
UNKNOWN_FIELD = "unknown field"
UNKNOWN_KEY = "unknown key (check spelling; see config.yaml for the documented keys)"


def describe_error(
    err: Any,
    top: str = "payload",
    unknown: str = UNKNOWN_FIELD,
    show_input: bool = False,
    line_of: Callable[[tuple[Any, ...]], int | None] | None = None,
) -> str:
    """One pydantic error dict as ``location: message``.

    ``top`` names the location of an error about the whole object; ``show_input`` adds the
    offending value (scalars only: never a whole section); ``line_of`` maps a location to
    a line of the source file.
    """
    loc = tuple(err.get("loc", ()))
    where = ".".join(str(p) for p in loc) or top
    msg = unknown if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
    text = f"{where}: {msg}"
    if (
        show_input
        and "input" in err
        and err.get("type") != "missing"
        and not isinstance(err["input"], dict)
    ):
        text += f" (got {err['input']!r})"
    line = line_of(loc) if line_of is not None else None
    if line is not None:
        text += f" [line {line}]"
    return text


def describe_errors(exc: ValidationError, limit: int | None = None, **how: Any) -> list[str]:
    """Every error of ``exc`` (the first ``limit``) through ``describe_error``."""
    errors = exc.errors()
    return [describe_error(e, **how) for e in errors[:limit]]
