"""Public names of a package, loaded on first use.

A package's ``__init__`` lists what it offers in ``__all__`` and maps each name to the
module that defines it. Nothing is imported until a name is used, so importing a package
for one small module (its config, say) never pulls in its heavy backends.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package.<where[name]>`` for ``name``."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
