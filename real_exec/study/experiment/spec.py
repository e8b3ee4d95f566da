"""An experiment file: fixed options, a grid, a target, a budget and repetitions.

```toml
[run]                      # any `asgd run` option, fixed for every cell
model = "mlp"
dataset = "digits"
batch = 32
eta = 0.05
[grid]                     # Cartesian product; any `asgd run` option
algo = ["lock", "hogwild", "leashed"]
stepsize = ["constant", "tail"]
[target]                   # one or both; reached when the first one is met
test_accuracy = 0.9
loss_fraction = 0.25       # training loss <= 0.25 x the initial loss
check_every = 0.1          # seconds between checks (default: budget / 50)
[budget]
seconds = 10               # a run that has not reached the target by then is censored
[repeat]
count = 5
seed = 1                   # run seeds: SeedSequence(seed).spawn(count), the same in every cell
baseline = { algo = "lock", stepsize = "constant" }   # for speed-ups
```

Slow workers are a grid like any option: ``speeds = [[1, 1], [1, 4]]`` in ``[grid]`` (or
``speeds = [1, 4]`` in ``[run]``), with ``slow_mode``. Options that go together are listed as
``cells`` in ``[grid]`` (crossed with its other lists): ``cells = [{algo = "lock"}, {algo =
"lock", stepsize = "ringmaster"}, {algo = "rennala", step_batch = 4}]``.

With ``mode = "predict"`` in ``[run]`` each run is a forecast instead (``asgd predict``: a
simulated schedule of ``threads`` workers on ``profile``, timing calibrated here once per
configuration, the training replayed in it), so a grid can span machines this one is not.

Every run is identified by a key: a hash of its full resolved options, its seed, the target
and the budget -- never its position in the grid -- so an edited file reuses exactly the runs
that still apply.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from real_exec.executor.monitor import Target
from staleness_sim.grid import expand_grid
from theory.algorithms import check_algorithm
from theory.spec import check_rule

__all__ = ["OPTIONS", "Experiment", "RunSpec", "experiment_toml", "load_experiment", "parse_experiment"]

#: `asgd run` options an experiment may set (in [run] or [grid]), with their defaults.
OPTIONS: dict[str, Any] = {
    "algo": None,
    "threads": 2,
    "problem": None,
    "model": None,
    "dataset": None,
    "data_dir": None,
    "batch": 32,
    "hidden": "128",
    "dtype": "float64",
    "init": "normal",
    "eta": 0.05,
    "momentum": 0.0,
    "stepsize": "constant",
    "persistence": None,
    "mode": "run",  # "run": real runs here; "predict": replays of simulated schedules (asgd predict)
    "profile": None,  # predict: a machine profile (name or TOML file); default this machine
    "calibrate_seconds": 3.0,  # predict: length of the calibration run
    "calibrate_threads": None,  # predict: its threads (default: min(threads, this machine's cores))
    "speeds": [1.0],  # slowdown factors cycled over the threads (asgd run --speeds), e.g. [1, 4]
    "slow_mode": "spin",  # where a slow worker's extra time goes: "spin" or "sleep"
    "step_batch": None,  # Rennala SGD's S (asgd run --step-batch); default the threads
}
#: Options added after experiment files existed: hashed into a run's key only when set, so
#: that the runs of a file written before them keep their keys.
_HASHED_WHEN_SET = ("speeds", "slow_mode", "step_batch")
_TABLES = ("run", "grid", "target", "budget", "repeat")


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: its cell's options, repetition, seed and key; ``grid_keys``
    name the options that vary across cells."""

    cell: int
    options: dict[str, Any]
    repetition: int
    seed: int
    key: str
    grid_keys: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """The cell's grid values, e.g. ``algo=lock, stepsize=tail``."""
        return cell_label(self.options, self.grid_keys)


@dataclass(frozen=True)
class Experiment:
    """A resolved experiment file."""

    cells: list[dict[str, Any]]
    grid_keys: tuple[str, ...]
    target: Target
    check_every: float
    budget: float
    repetitions: int
    seed: int
    baseline: int | None
    runs: list[RunSpec]

    def cell_labels(self) -> list[str]:
        return [cell_label(c, self.grid_keys) for c in self.cells]


def cell_label(options: dict[str, Any], keys: tuple[str, ...]) -> str:
    """``algo=lock, stepsize=tail``: the grid values of a cell."""
    return ", ".join(f"{k}={options[k]}" for k in keys) or "all runs"


def run_key(options: dict[str, Any], seed: int, target: Target, budget: float, check_every: float) -> str:
    """A stable hash of everything that determines a run's result."""
    hashed = {k: v for k, v in options.items() if not (k in _HASHED_WHEN_SET and v == OPTIONS[k])}
    text = json.dumps(
        {"options": hashed, "seed": seed, "target": target.__dict__, "budget": budget, "check": check_every},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"[{name}] must be a table")
    return value


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; :class:`ValueError` names what is wrong."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"experiment file {path}: {exc}") from None
    return parse_experiment(data)


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans are written alike in TOML and JSON


def experiment_toml(data: dict[str, dict[str, Any]]) -> str:
    """The experiment file of ``data`` (its tables, as :func:`parse_experiment` takes them):
    ``tomllib.loads(experiment_toml(data)) == data`` for tables of strings, numbers, booleans,
    lists of them and inline tables.

    >>> print(experiment_toml({"run": {"threads": 2, "dataset": "digits"}, "grid": {"algo": ["lock"]}}))
    [run]
    threads = 2
    dataset = "digits"
    [grid]
    algo = ["lock"]
    <BLANKLINE>
    """
    lines = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def parse_experiment(data: dict[str, Any]) -> Experiment:
    """Check an experiment's tables (a parsed file: ``[run]``, ``[grid]``, ``[target]``,
    ``[budget]``, ``[repeat]``); :class:`ValueError` names what is wrong."""
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        raise ValueError(f"experiment file: unknown table(s) {', '.join(unknown)} (use {', '.join(_TABLES)})")
    keys, given = expand_grid(_table(data, "run"), _table(data, "grid"), OPTIONS, "run")
    cells = [OPTIONS | cell for cell in given]  # defaults for what the file leaves out
    target_table = dict(_table(data, "target"))
    check_every = target_table.pop("check_every", None)
    bad = sorted(set(target_table) - {"test_accuracy", "loss_fraction"})
    if bad:
        raise ValueError(
            f"[target] has unknown key(s) {', '.join(bad)} (test_accuracy, loss_fraction, check_every)"
        )
    target = Target(target_table.get("test_accuracy"), target_table.get("loss_fraction"))
    budget = _table(data, "budget").get("seconds")
    if not isinstance(budget, int | float) or budget <= 0:
        raise ValueError("[budget] seconds must be a number > 0")
    check = float(check_every) if check_every is not None else max(0.05, budget / 50)
    if not 0 < check <= budget:
        raise ValueError(
            f"[target] check_every must be > 0 and at most the budget ({budget:g} s), got {check:g}"
        )
    repeat = _table(data, "repeat")
    count, seed = repeat.get("count", 1), repeat.get("seed", 0)
    if not isinstance(count, int) or count < 1:
        raise ValueError("[repeat] count must be an integer >= 1")
    for i, cell in enumerate(cells):
        if cell["mode"] not in ("run", "predict"):
            raise ValueError(f"cell {i}: mode must be 'run' or 'predict', got {cell['mode']!r}")
        if cell["algo"] is None:
            raise ValueError("every cell needs algo (in [run] or [grid])")
        try:
            check_algorithm(cell["algo"])
            check_rule(cell["stepsize"])
            cell["speeds"] = _speeds(cell["speeds"])
        except ValueError as exc:
            raise ValueError(f"cell {i} ({cell_label(cell, keys)}): {exc}") from None
        if cell["problem"] is None and cell["model"] is None and cell["dataset"] is None:
            raise ValueError(f"cell {i} ({cell_label(cell, keys)}): give problem, or model and dataset")
    baseline = _baseline(repeat.get("baseline"), cells, keys)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(count)]
    runs = [
        RunSpec(i, cell, r, s, run_key(cell, s, target, float(budget), check), keys)
        for i, cell in enumerate(cells)
        for r, s in enumerate(seeds)
    ]
    return Experiment(cells, keys, target, check, float(budget), count, seed, baseline, runs)


def _speeds(value: Any) -> list[float]:
    """A cell's ``speeds``: a number or a list of them (``[1, 4]``), each finite and >= 1."""
    from real_exec.executor.config import check_speeds

    return list(check_speeds(value if isinstance(value, list) else [value]))


def _baseline(spec: Any, cells: list[dict[str, Any]], keys: tuple[str, ...]) -> int | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError('[repeat] baseline must be a table of grid values, e.g. { algo = "lock" }')
    matches = [i for i, c in enumerate(cells) if all(c.get(k) == v for k, v in spec.items())]
    if len(matches) != 1:
        raise ValueError(f"[repeat] baseline {spec} matches {len(matches)} cells, not one")
    return matches[0]
