"""A hostile MQTT corpus for a kiosk with id ``KIOSK`` in group ``north``.

Every item says whether the README promises an answer on ``<prefix>/<id>/cmd/result``:
each non-retained message on one of the kiosk's command topics gets exactly one (``ok``,
refused, rate-limited, busy or too large); retained commands, other groups, deeper topic
levels and posts on ``cmd/result`` itself get none.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

KIOSK = "run"
GROUP = "north"
NOARG = ["pause", "resume", "next", "clear_override", "status"]
# Topic-safe junk: mosquitto drops a client whose topic has NUL or C0 control characters.
TOPIC_JUNK = "\u200b\u202e\u00e9\u4e2d\ufffd\U0001f600'\"\\{}[]:, ?"
VALUE_JUNK = "\u0000\u001f\u200b\u202e\U0001f600\u00e9'\"\\{}[]:,/"
# Refused response topics: the kiosk's own and its fleet's topics, discovery, $SYS.
BAD_REPLY = [
    f"kiosk/{KIOSK}/availability",
    f"kiosk/{KIOSK}/state",
    f"kiosk/{KIOSK}/stats",
    f"kiosk/{KIOSK}/cmd/result",
    "kiosk/all/cmd/pause",
    f"kiosk/group/{GROUP}/cmd/volume",
    "kiosk/other/state",
    "homeassistant/sensor/run/mood/config",
    "$SYS/broker/x",
]


@dataclass
class Msg:
    topic: str
    payload: bytes
    retain: bool = False
    response_topic: str | None = None
    answered: bool = True  # on cmd/result
    answered_on_response_topic: bool = False


def _text(rng: random.Random, n: int, alphabet: str = VALUE_JUNK) -> str:
    return "".join(rng.choice(alphabet + "abc123") for _ in range(n))


def _root(rng: random.Random) -> str:
    return rng.choice([f"kiosk/{KIOSK}", "kiosk/all", f"kiosk/group/{GROUP}"])


def _wrong_value(rng: random.Random):
    return rng.choice(
        ["50", 50.5, True, None, [], {}, -1, 101, 10**30, float("inf"), _text(rng, 5)]
    )


def _payload(rng: random.Random, kind: int) -> tuple[str, bytes]:
    """(command, hostile payload)."""
    if kind == 0:  # broken JSON
        body = json.dumps({"id": rng.randint(0, 9), "x": _text(rng, 8)})
        return rng.choice(NOARG), rng.choice(
            [body[:-1], body + ",", "{'a': 1}", "NaN", "{"]
        ).encode()
    if kind == 1:  # lone surrogates as JSON escapes: in the id, a key, a value
        where = rng.choice(
            ['{"id":"\\ud800"}', '{"\\udc00":1}', '{"level":"\\udfff","id":"\\ud83d"}']
        )
        return rng.choice([*NOARG, "volume"]), where.encode()
    if kind == 2:  # raw surrogate / invalid UTF-8 bytes
        return rng.choice(NOARG), rng.choice([b'{"id":"\xed\xa0\x80"}', b"\xff\xfe", b"\xc0\x80"])
    if kind == 3:  # NUL bytes, raw and escaped
        return rng.choice([*NOARG, "volume"]), rng.choice(
            [b"\x00", b'{"id":"a\\u0000"}', b'{"level":5,"\x00":1}', b"\x00" * 100]
        )
    if kind == 4:  # wrong types and ranges
        return "volume", json.dumps({"level": _wrong_value(rng), "id": rng.random()}).encode()
    if kind == 5:  # JSON that is not an object, or unknown fields
        return rng.choice(NOARG), json.dumps(
            rng.choice([[1], "pause", 5, None, {_text(rng, 4): _wrong_value(rng)}])
        ).encode()
    if kind == 6:  # override with a mood no playlist has, or bad minutes
        if rng.random() < 0.5:
            return "override", json.dumps({"mood": _text(rng, rng.randint(0, 80)) + "!"}).encode()
        minutes = rng.choice([0, -5, "10", None, 10**9, float("nan")])
        return "override", json.dumps({"mood": "happy", "minutes": minutes}).encode()
    if kind == 7:  # deep nesting
        depth = rng.randint(500, 1500)
        return rng.choice(NOARG), b"[" * depth + b"]" * depth
    return _text(rng, rng.randint(1, 10), TOPIC_JUNK), b"{}"  # unknown command name


def corpus(seed: int = 20261201, n: int = 1000) -> list[Msg]:
    rng = random.Random(seed)
    out: list[Msg] = []
    while len(out) < n:
        r = rng.random()
        if r < 0.008:  # 1 MB payloads (about 8)
            out.append(Msg(f"{_root(rng)}/cmd/status", b'{"id":"big","pad":"' + b"A" * (1 << 20)))
        elif r < 0.06:  # retained commands: never obeyed, never answered
            name = rng.choice(["pause", "volume"])
            body = b'{"level": 1}' if name == "volume" else b"{}"
            out.append(Msg(f"{_root(rng)}/cmd/{name}", body, retain=True, answered=False))
        elif r < 0.12:  # response-topic abuse: refused, answered on cmd/result only
            out.append(
                Msg(
                    f"{_root(rng)}/cmd/volume",
                    b'{"level": 1}',
                    response_topic=rng.choice(BAD_REPLY),
                )
            )
        elif r < 0.15:  # an allowed response topic
            out.append(
                Msg(
                    f"kiosk/{KIOSK}/cmd/status",
                    b"",
                    response_topic=f"reply/{len(out)}",
                    answered_on_response_topic=True,
                )
            )
        elif r < 0.22:  # junk topic levels
            level = _text(rng, rng.randint(1, 6), TOPIC_JUNK)
            choice = rng.randrange(5)
            if choice == 0:
                out.append(Msg(f"kiosk/{KIOSK}/cmd/{level}", b"{}"))  # unknown command
            elif choice == 1:
                out.append(Msg(f"kiosk/{KIOSK}/cmd/", b"{}"))  # empty name: unknown command
            elif choice == 2:
                out.append(Msg(f"kiosk/{KIOSK}/cmd/status/{level}", b"{}", answered=False))
            elif choice == 3:
                out.append(Msg(f"kiosk/group/{level}x/cmd/pause", b"{}", answered=False))
            else:
                out.append(Msg(f"kiosk/{KIOSK}/cmd/result", b'{"ok":true}', answered=False))
        elif r < 0.25:  # a good command now and then
            out.append(Msg(f"kiosk/{KIOSK}/cmd/status", json.dumps({"id": len(out)}).encode()))
        else:
            name, payload = _payload(rng, rng.randrange(9))
            out.append(Msg(f"{_root(rng)}/cmd/{name}", payload))
    return out
