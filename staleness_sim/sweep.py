"""Parameter sweeps over ``simulate`` options: a Cartesian grid, run in parallel, resumable.

A sweep file (TOML)::

    [sweep]
    updates = 5000          # gradients per cell
    seed = 0                # base seed: cell i gets SeedSequence(seed).spawn(n)[i]
    engine = "auto"          # auto (fast where it applies), simpy or fast

    [fixed]                 # options shared by every cell
    compute = "expon:scale=1"

    [grid]                  # every combination of these is one cell
    algo = ["hogwild", "leashed"]
    workers = [2, 4, 8]
    publish = ["const:0", "const:0.05"]

Option names are those of ``asgd simulate`` (``algo``, ``workers``, ``profile``, ``cores``,
``compute``, ``read``, ``publish``, ``lock_policy``, ``persistence``). A cell is identified by a
key: a hash of its resolved options, the gradients, the engine and the base seed -- not its position in the
grid -- and its seed is drawn from that key, so each finished cell written at once to
``OUT/cells/cell-KEY.json`` is found again by a restarted sweep (none run twice, none lost),
and an edited file reuses exactly the cells that still apply. The merged table is
``OUT/results.parquet`` (one row per cell) and the resolved configuration ``OUT/config.json``.
Cells run through joblib; with a Dask scheduler address they run on that cluster (joblib's
dask backend, needs the ``[dask]`` extra).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from staleness_sim.config import ALGORITHMS, SimConfig
from staleness_sim.engines import simulate
from staleness_sim.grid import expand_grid
from staleness_sim.profile import PROFILE_OPTIONS, HardwareProfile, load_profile
from theory.trace import atomic_write, atomic_write_text

__all__ = ["finished_cells", "load_sweep", "run_cell", "run_sweep"]

OPTIONS = ("algo", "workers", "profile", *PROFILE_OPTIONS, "persistence")
_SETTINGS = ("updates", "seed", "engine")


def load_sweep(path: str | Path) -> dict[str, Any]:
    """Read and validate a sweep file; return ``{"settings", "cells"}``."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"sweep file {path}: {exc}") from None
    unknown = set(data) - {"sweep", "fixed", "grid"}
    if unknown:
        raise ValueError(
            f"sweep file: unknown table(s) {', '.join(sorted(unknown))} (use sweep, fixed, grid)"
        )
    settings = {"updates": 5000, "seed": 0, "engine": "auto"} | data.get("sweep", {})
    bad = set(settings) - set(_SETTINGS)
    if bad:
        raise ValueError(
            f"[sweep] has unknown key(s) {', '.join(sorted(bad))} (known: {', '.join(_SETTINGS)})"
        )
    _, cells = expand_grid(data.get("fixed", {}), data.get("grid", {}), OPTIONS, "fixed")
    for i, cell in enumerate(cells):
        if "algo" not in cell or "workers" not in cell:
            raise ValueError("every cell needs algo and workers (in [fixed] or [grid])")
        if cell["algo"] not in ALGORITHMS:
            raise ValueError(f"cell {i}: algo must be one of {', '.join(ALGORITHMS)}, got {cell['algo']!r}")
        _config(cell, 1, 0)  # validate every cell before running any
    for cell in cells:
        key = _cell_key(cell, settings)
        entropy = [int(settings["seed"]), int(key[:15], 16)]
        cell["seed"] = int(np.random.SeedSequence(entropy).generate_state(1)[0])
        cell["key"] = key
    return {"settings": settings, "cells": cells}


def _cell_key(cell: dict[str, Any], settings: dict[str, Any]) -> str:
    """A stable hash of what determines a cell's result."""
    text = json.dumps({"cell": {k: cell.get(k) for k in OPTIONS}, "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _config(cell: dict[str, Any], updates: int, seed: int) -> SimConfig:
    base = load_profile(cell["profile"]) if cell.get("profile") else HardwareProfile()
    profile = base.with_overrides(**{k: cell.get(k) for k in PROFILE_OPTIONS})
    return SimConfig(cell["algo"], int(cell["workers"]), profile, updates, seed, cell.get("persistence"))


def run_cell(index: int, cell: dict[str, Any], updates: int, engine: str) -> dict[str, Any]:
    """Simulate one cell; return its options and summary as one flat row."""
    result = simulate(_config(cell, updates, cell["seed"]), engine)
    summary = result.summary()
    flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    return {"cell": index, **{k: cell.get(k) for k in (*OPTIONS, "seed", "key")}, **flat}


def _cell_path(out: Path, cell: dict[str, Any]) -> Path:
    return out / "cells" / f"cell-{cell['key']}.json"


def finished_cells(sweep: dict[str, Any], out: Path) -> int:
    """How many of ``sweep``'s cells are already in ``out`` (a rerun skips them)."""
    return sum(1 for cell in sweep["cells"] if _cell_path(out, cell).exists())


@contextmanager
def _dask(address: str | None) -> Iterator[None]:
    if address is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "a Dask scheduler needs the [dask] extra: pip install 'asgd-toolkit[dask]'"
        ) from None
    from joblib import parallel_config

    with Client(address), parallel_config(backend="dask"):
        yield


def run_sweep(
    sweep: dict[str, Any],
    out: Path,
    jobs: int = 1,
    scheduler: str | None = None,
    on_cell: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run every cell not yet in ``out``; write each as it finishes; return the merged table."""
    from joblib import Parallel, delayed

    settings, cells = sweep["settings"], sweep["cells"]
    (out / "cells").mkdir(parents=True, exist_ok=True)
    config_text = json.dumps({"settings": settings, "cells": cells}, indent=2, default=str)
    atomic_write_text(out / "config.json", config_text)
    todo = [i for i, cell in enumerate(cells) if not _cell_path(out, cell).exists()]
    updates, engine = int(settings["updates"]), str(settings["engine"])
    with _dask(scheduler) if scheduler else nullcontext():
        parallel = Parallel(n_jobs=jobs if scheduler is None else -1, return_as="generator_unordered")
        for row in parallel(delayed(run_cell)(i, cells[i], updates, engine) for i in todo):
            atomic_write_text(_cell_path(out, cells[row["cell"]]), json.dumps(row, default=float))
            if on_cell is not None:
                on_cell(row)
    # A stored cell keeps its own index from the run that made it; today's grid order rules.
    rows = [json.loads(_cell_path(out, cell).read_text()) | {"cell": i} for i, cell in enumerate(cells)]
    table = pd.DataFrame(rows).sort_values("cell").reset_index(drop=True)
    atomic_write(out / "results.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    return table
