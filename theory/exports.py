"""Lazy public names for a package's ``__init__`` (PEP 562), so that importing one module
does not import the whole package.

``import theory`` costs almost nothing; ``theory.Trace`` imports :mod:`theory.trace` on
first use. The three packages' ``__init__`` modules declare their public names with this::

    __getattr__, __dir__ = lazy_exports(__name__, {"Trace": "theory.trace", ...})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``where`` maps each public name to its module."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)  # later lookups skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(where) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__
