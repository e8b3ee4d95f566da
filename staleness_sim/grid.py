"""Cartesian grids of options from a TOML file's fixed table and grid table (sweeps and
experiments share this).

``cells`` in the grid table is a list of option tables, each one combination that goes
together (``cells = [{algo = "lock"}, {algo = "lock", stepsize = "ringmaster"}]``); the grid
is then the product of those combinations with the other grid lists.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

__all__ = ["expand_grid"]


def expand_grid(
    fixed: dict[str, Any], grid: dict[str, Any], known: Iterable[str], fixed_name: str
) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """``(grid keys, cells)``: every combination of the ``grid`` lists (and of its ``cells``
    combinations), over ``fixed``.

    Unknown options (in the ``[fixed_name]`` table, ``[grid]`` or a cell) and grid entries that
    are not non-empty lists raise :class:`ValueError` naming them.

        >>> expand_grid({"a": 1}, {"b": [2, 3]}, ["a", "b"], "fixed")
        (('b',), [{'a': 1, 'b': 2}, {'a': 1, 'b': 3}])
        >>> expand_grid({}, {"cells": [{"a": 1}, {"a": 1, "b": 2}]}, ["a", "b"], "fixed")
        (('a', 'b'), [{'a': 1}, {'a': 1, 'b': 2}])
    """
    allowed = list(known)
    grid = dict(grid)
    combos_given = grid.pop("cells", [{}])
    if (
        not isinstance(combos_given, list)
        or not combos_given
        or not all(isinstance(c, dict) for c in combos_given)
    ):
        raise ValueError('[grid] cells must be a non-empty list of option tables, e.g. [{algo = "lock"}]')
    in_cells = sorted({k for c in combos_given for k in c})
    for table, keys in ((fixed_name, fixed), ("grid", grid), ("grid cells", in_cells)):
        wrong = sorted(set(keys) - set(allowed))
        if wrong:
            raise ValueError(
                f"[{table}] has unknown option(s) {', '.join(wrong)} (known: {', '.join(allowed)})"
            )
    both = sorted(set(in_cells) & set(grid))
    if both:
        raise ValueError(f"[grid] gives {', '.join(both)} both as a list and in cells")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"[grid] {key} must be a non-empty list")
    names = tuple(sorted(grid))
    combos = itertools.product(combos_given, *(grid[k] for k in names))
    cells = [fixed | cell | dict(zip(names, rest, strict=True)) for cell, *rest in combos]
    return tuple(sorted({*names, *in_cells})), cells
