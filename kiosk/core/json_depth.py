"""One nesting limit for command JSON, checked before ``json.loads`` sees the text.

``json``'s parser recurses once per level, so what a deep payload does depends on the
Python: 3.10 and 3.11 raise RecursionError near 1,000 levels, 3.12 somewhat deeper, and
3.13 parses 5,000 and more.
Every command is a flat object (depth 1), so a small explicit limit refuses the same
payloads with the same words on every Python and never lets the parser recurse far.
"""

from __future__ import annotations

import re
from itertools import accumulate

MAX_DEPTH = 32
# A JSON string, or the rest of the text if it is never closed: brackets inside strings
# are data, not nesting. Unrolled so it matches in linear time.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (0 for a scalar). Iterative, linear,
    and meant for text that is then parsed: unbalanced brackets give a rough answer."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise ValueError("nested too deeply (limit N)") if ``text`` nests beyond ``limit``."""
    if json_depth(text) > limit:
        raise ValueError(f"nested too deeply (limit {limit})")
