"""The command JSON nesting limit: one check, the same answer on every Python."""

from __future__ import annotations

import json

import pytest

from kiosk.core.dispatch import Dispatcher, parse_payload
from kiosk.core.json_depth import MAX_DEPTH, check_depth, json_depth

TOO_DEEP = f"nested too deeply (limit {MAX_DEPTH})"


def nested(depth: int) -> str:
    """An object whose deepest value sits ``depth`` levels down (the object is level 1)."""
    return '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[[{{{"', 0),
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[", "\\"[", "\\\\", [{"]": "}"}]]', 3),  # escapes end or keep a string as JSON does
        ('{"a": "' + "[" * 5000 + '"}', 1),
        ('{"a": "never closed [[[[', 1),
    ],
)
def test_depth_counts_brackets_outside_strings_only(text, depth):
    assert json_depth(text) == depth


def test_exactly_the_limit_parses():
    assert parse_payload(nested(MAX_DEPTH).encode())["a"] == json.loads(nested(MAX_DEPTH))["a"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 2000, 100_000])
def test_deeper_than_the_limit_is_refused_with_the_limit(depth):
    with pytest.raises(ValueError, match=r"^payload is nested too deeply \(limit 32\)$"):
        parse_payload(nested(depth).encode())
    with pytest.raises(ValueError, match=r"^nested too deeply \(limit 32\)$"):
        check_depth("[" * depth + "]" * depth)


def test_a_string_full_of_brackets_is_only_a_string():
    payload = json.dumps({"id": "[" * 3000 + "{" * 1000})
    assert parse_payload(payload)["id"].startswith("[[[")


def test_the_dispatcher_answers_a_deep_payload_without_running_it():
    class NoApi:
        def __getattr__(self, name):
            raise AssertionError(f"the core was called: {name}")

    r = Dispatcher(NoApi()).dispatch("status", b"[" * 2000 + b"]" * 2000)  # type: ignore[arg-type]
    assert r == {"id": None, "command": "status", "ok": False, "error": f"payload is {TOO_DEEP}"}
