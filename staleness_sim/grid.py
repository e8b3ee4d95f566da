"""Cartesian grids of options from a TOML file's fixed table and grid table (sweeps and
experiments share this)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

__all__ = ["expand_grid"]


def expand_grid(
    fixed: dict[str, Any], grid: dict[str, Any], known: Iterable[str], fixed_name: str
) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """``(grid keys, cells)``: every combination of the ``grid`` lists, over ``fixed``.

    Unknown options (in the ``[fixed_name]`` table or ``[grid]``) and grid entries that are not
    non-empty lists raise :class:`ValueError` naming them.

    >>> expand_grid({"a": 1}, {"b": [2, 3]}, ["a", "b"], "fixed")
    (('b',), [{'a': 1, 'b': 2}, {'a': 1, 'b': 3}])
    """
    allowed = list(known)
    for table, keys in ((fixed_name, fixed), ("grid", grid)):
        wrong = sorted(set(keys) - set(allowed))
        if wrong:
            raise ValueError(
                f"[{table}] has unknown option(s) {', '.join(wrong)} (known: {', '.join(allowed)})"
            )
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"[grid] {key} must be a non-empty list")
    names = tuple(sorted(grid))
    combos = itertools.product(*(grid[k] for k in names))
    return names, [fixed | dict(zip(names, combo, strict=True)) for combo in combos]
