"""The one dispatcher: every front end that changes a running kiosk goes through it.

name + raw payload + ``Origin`` → typed pydantic model → one ``KioskApi`` call → result
dict ``{"id", "command", "ok", "error"}`` (plus the command's own fields, e.g. ``status``).
Nothing reaches the core unless the payload validated. Each validated command is recorded
as one ``command`` event with its origin's source, role and user, which the history keeps.

The daemon builds one ``Dispatcher`` and hands it to the web page, MQTT (and so Home
Assistant and ``kiosk ctl``), and its own signal handler.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pydantic import ValidationError

from kiosk.core.api import OPERATOR, CommandError, KioskApi, Origin
from kiosk.core.commands import COMMANDS, MAX_ID_LEN, STAFF_ACTIONS, STAFF_COMMANDS
from kiosk.core.events import CommandEvent, Event
from kiosk.core.json_depth import check_depth
from kiosk.errors import describe_errors

log = logging.getLogger(__name__)

Payload = bytes | str | dict[str, Any] | None


def safe_id(value: Any) -> str | int | None:
    """A request id worth echoing even when the rest of the payload is bad."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) < 2**53:
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_LEN:
        return value
    return None


def parse_payload(payload: Payload) -> dict[str, Any]:
    """Raw payload to a JSON object. Empty means ``{}``. Raises ValueError with a reason."""
    if payload is None:
        return {}
    if isinstance(payload, dict):
        return payload
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("payload is not UTF-8") from None
    if not payload.strip():
        return {}
    try:
        check_depth(payload)
    except ValueError as exc:
        raise ValueError(f"payload is {exc}") from None
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ValueError(f"payload is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"payload must be a JSON object, got {type(data).__name__}")
    return data


def validate(name: str, payload: Payload) -> tuple[dict[str, Any], Any]:
    """(the JSON object, the validated command) or ValueError with the dispatcher's words.

    ``kiosk ctl`` calls this before sending, so a typo is answered locally in exactly the
    words the kiosk would use.
    """
    data = parse_payload(payload)
    entry = COMMANDS.get(name)
    if entry is None:
        raise ValueError(f"unknown command {name[:64]!r}; known: {', '.join(COMMANDS)}")
    try:
        return data, entry[0].model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe_errors(exc, limit=3))
        raise ValueError(f"invalid {name} payload: {problems}") from None


class Dispatcher:
    """Turns (name, payload, origin) into one validated API call and a result dict.
    Thread-safe as far as the API is; it holds no state of its own."""

    def __init__(self, api: KioskApi, source: str = "mqtt") -> None:
        """``source``: the front end assumed when a caller gives only a role."""
        self.api = api
        self.source = source

    def origin(self, who: Origin | str) -> Origin:
        return who if isinstance(who, Origin) else Origin(self.source, who)

    def dispatch(
        self, name: str, payload: Payload = None, origin: Origin | str = OPERATOR
    ) -> dict[str, Any]:
        """``origin``: who asks (an ``Origin``, or just a role in this dispatcher's source)."""
        who = self.origin(origin)
        result: dict[str, Any] = {"id": None, "command": name[:64], "ok": False, "error": None}
        try:
            data = parse_payload(payload)
        except ValueError as exc:
            result["error"] = str(exc)
            return result
        result["id"] = safe_id(data.get("id"))
        entry = COMMANDS.get(name)
        if entry is None:
            result["error"] = f"unknown command {name[:64]!r}; known: {', '.join(COMMANDS)}"
            return result
        action = entry[1]
        if who.role != OPERATOR:
            if name not in STAFF_COMMANDS:
                result["error"] = f"{name} needs the operator role"
                return result
            action = STAFF_ACTIONS.get(name, action)
        try:
            _data, cmd = validate(name, data)
        except ValueError as exc:
            result["error"] = str(exc)
            return result
        try:
            extra = action(self.api, cmd)
        except CommandError as exc:
            result["error"] = str(exc) or f"{name} refused"
            return self._record(result, cmd, who)
        except Exception as exc:  # a core bug must not take the front end down
            log.exception("command %s failed", name)
            result["error"] = f"internal error: {type(exc).__name__}"
            return self._record(result, cmd, who)
        result["ok"] = True
        self._record(result, cmd, who)
        if extra:
            result.update(extra)
        return result

    def _record(self, result: dict[str, Any], cmd: Any, who: Origin) -> dict[str, Any]:
        """A ``command`` event for the history (validated commands only; never the id)."""
        events = getattr(self.api, "events", None)  # None: a bare API in a unit test
        if events is not None:
            data: CommandEvent = {
                "command": result["command"],
                "source": who.source,
                "role": who.role,
                "user": who.user,
                "ok": result["ok"],
                "args": cmd.model_dump(exclude={"id"}),
                "error": result["error"],
            }
            events.emit(Event("command", data, time.time()))
        return result
