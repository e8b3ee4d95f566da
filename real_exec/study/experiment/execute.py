"""Run an experiment's runs -- one at a time here, or one per machine on a Dask cluster -- and
keep each as soon as it finishes (``DIR/runs/<key>.json``), so that the same command resumes.

On one machine real runs go one after the other: side by side they would compete for the
cores and measure each other. On a Dask cluster each run is a task that needs the worker
resource ``asgd-run`` (start workers with ``--resources asgd-run=1``): a worker machine
then runs one at a time, and the grid spreads over the machines.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from real_exec.executor.machine import usable_cores
from real_exec.executor.monitor import curve_columns
from real_exec.study.experiment.spec import Experiment, RunSpec

__all__ = ["RESOURCE", "pending", "run_experiment", "run_one", "stored_runs"]

#: The Dask worker resource a run needs (one unit per worker machine).
RESOURCE = "asgd-run"


def _hidden(value: Any) -> tuple[int, ...]:
    """``hidden = "128,128"`` (or a number) as layer widths; ``ValueError`` in our words."""
    parts = str(value).split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f'hidden must be layer widths separated by commas, e.g. "128,128"; got {value!r}')
    return tuple(int(p) for p in parts)


def run_config(options: dict[str, Any], exp: Experiment, **extra: Any) -> Any:
    """The :class:`~real_exec.executor.config.RunConfig` of a cell's ``options`` for ``exp``'s
    budget (``extra``: the seed and instrumentation of a run); its checks raise ``ValueError``."""
    from real_exec.executor.config import RunConfig

    o = options
    return RunConfig(
        o["algo"],
        int(o["threads"]),
        float(o["eta"]),
        seconds=exp.budget,
        rule=o["stepsize"],
        persistence=o["persistence"],
        momentum=float(o["momentum"]),
        speeds=tuple(o["speeds"]),
        slow_mode=o["slow_mode"],
        step_batch=o["step_batch"],
        **extra,
    )


def check_cells(exp: Experiment) -> None:
    """Every cell's options, values and data, checked before any run starts: ``ValueError``
    naming the cell and what is wrong (the data of each workload is loaded once, which also
    fetches it where it must be)."""

    loaded: set[str] = set()
    for i, (cell, label) in enumerate(zip(exp.cells, exp.cell_labels(), strict=True)):
        try:
            run_config(cell, exp)
            key = json.dumps({k: cell[k] for k in _WORKLOAD_KEYS}, sort_keys=True, default=str)
            if key not in loaded:
                _problem(cell, 0)
                loaded.add(key)
        except ValueError as exc:
            raise ValueError(f"cell {i} ({label}): {exc}") from None


#: The options that make a cell's workload (its problem and data).
_WORKLOAD_KEYS = ("problem", "model", "dataset", "batch", "hidden", "dtype", "init", "data_dir")


def _problem(o: dict[str, Any], seed: int) -> Any:
    from real_exec.executor.problems import problem_from_options

    return problem_from_options(
        o["problem"],
        o["model"],
        o["dataset"],
        seed=seed,
        batch=int(o["batch"]),
        hidden=_hidden(o["hidden"]),
        dtype=o["dtype"],
        init=o["init"],
        data_dir=o["data_dir"],
    )


#: What a predict-mode calibration depends on: the workload, the algorithm, its step and run
#: length, the machine profile; not the threads predicted for or the step-size rule.
_CALIBRATION_KEYS = (*_WORKLOAD_KEYS, "algo", "eta", "calibrate_seconds", "profile")


@functools.lru_cache(maxsize=16)
def _calibrated(options: str) -> Any:
    """A profile calibrated here for a predict-mode configuration (once per process)."""
    from real_exec.study.predict.forecast import calibrate_here
    from staleness_sim.profile import load_profile

    o = json.loads(options)
    machine = load_profile(o["profile"]) if o["profile"] else None
    return calibrate_here(
        _problem(o, 0),
        o["algo"],
        o["threads"],
        eta=float(o["eta"]),
        seconds=float(o["calibrate_seconds"]),
        machine=machine,
        predict_threads=o["predict_threads"],
        check_every=float(o["check_every"]),
    )


def _calibration_key(o: dict[str, Any], check_every: float) -> str:
    """The cache key of :func:`_calibrated`: its options, with the calibration's threads, the
    threads it serves and the experiment's interval between target checks (the calibration
    run samples as often).

    A calibration on ``calibrate_threads`` serves every thread count predicted, so it probes
    contention (and HOGWILD!'s lost updates) for every core count here; the default one, on
    ``min(threads, cores)``, serves only its run's threads, which keep as many cores busy:
    no probe of contention."""
    cores = usable_cores()
    threads = o["calibrate_threads"] or min(int(o["threads"]), cores)
    serves = cores if o["calibrate_threads"] else threads
    return json.dumps(
        {
            **{k: o[k] for k in _CALIBRATION_KEYS},
            "threads": threads,
            "predict_threads": serves,
            "check_every": check_every,
        },
        sort_keys=True,
        default=str,
    )


def _predict_one(spec: RunSpec, exp: Experiment) -> dict[str, Any]:
    from real_exec.study.predict.forecast import Trial, forecast

    o = spec.options
    profile = _calibrated(_calibration_key(o, exp.check_every))
    trial = Trial(
        o["algo"],
        int(o["threads"]),
        float(o["eta"]),
        exp.target,
        exp.budget,
        rule=o["stepsize"],
        reps=1,
        seed=spec.seed,
        check_every=exp.check_every,
        speeds=tuple(o["speeds"]),
        slow_mode=o["slow_mode"],
        step_batch=o["step_batch"],
    )
    f = forecast(_problem(o, spec.seed), trial, profile)
    rep, curve = f.per_rep[0], f.curves[0]
    row = {
        **_row_head(spec, exp),
        "reached": rep["reached"],
        "diverged": rep["diverged"],
        "time_to_target": rep["time_to_target"],
        "updates_to_target": rep["updates_to_target"],
        "censored_at": exp.budget,
        "wall_time": rep["replay_seconds"],
        "final_loss": curve["loss"][-1],
        "final_accuracy": curve["accuracy"][-1] if "accuracy" in curve else None,
        "tau_mean": rep["tau_mean"],
        "updates_per_s": float("nan"),
        "cas_failures": None,
    }
    return {"row": row, "curve": curve}


def _row_head(spec: RunSpec, exp: Experiment) -> dict[str, Any]:
    return {
        "key": spec.key,
        "cell": spec.cell,
        **{k: spec.options[k] for k in exp.grid_keys},
        "repetition": spec.repetition,
        "seed": spec.seed,
    }


def run_one(spec: RunSpec, exp: Experiment) -> dict[str, Any]:
    """Run ``spec`` to the target or the budget (or forecast it, in predict mode); its row
    (and curve) as a dict."""
    from real_exec.executor.runner import run

    o = spec.options
    if o["mode"] == "predict":
        return _predict_one(spec, exp)
    problem = _problem(o, spec.seed)
    config = run_config(o, exp, seed=spec.seed, check_updates=False, sample_every=exp.check_every)
    result = run(config, problem, target=exp.target)
    if result.interrupted:  # cut short by Ctrl-C: not a run that missed its target
        raise KeyboardInterrupt
    s = result.summary()
    reached = result.reached is not None
    row = {
        **_row_head(spec, exp),
        "reached": reached,
        "diverged": result.diverged,
        "time_to_target": result.reached[0] if result.reached else float("nan"),
        "updates_to_target": result.reached[1] if result.reached else None,
        "censored_at": exp.budget,
        "wall_time": result.wall_time,
        "final_loss": s["final_loss"],
        "final_accuracy": s.get("test_accuracy"),
        "tau_mean": s["tau_mean"],
        "updates_per_s": s["throughput"],
        "cas_failures": s["cas_failures"],
        "data_dir": s.get("data_source", {}).get("dir"),
        "data_sha256": s.get("data_source", {}).get("sha256"),
    }
    return {"row": row, "curve": curve_columns(result.curve)}


def _path(out: Path, key: str) -> Path:
    return out / "runs" / f"{key}.json"


def stored_runs(exp: Experiment, out: Path) -> dict[str, dict[str, Any]]:
    """The runs of ``exp`` already in ``out``, by key (runs of other experiments are ignored)."""
    keys = {r.key for r in exp.runs}
    found = {}
    for path in (out / "runs").glob("*.json") if (out / "runs").exists() else []:
        if path.stem in keys:
            found[path.stem] = json.loads(path.read_text())
    return found


def pending(exp: Experiment, out: Path) -> list[RunSpec]:
    """The runs of ``exp`` not yet stored in ``out``."""
    done = stored_runs(exp, out)
    return [r for r in exp.runs if r.key not in done]


def _store(out: Path, key: str, record: dict[str, Any]) -> None:
    from theory.trace import atomic_write_text

    atomic_write_text(_path(out, key), json.dumps(record, default=float))


def _dask(todo: list[RunSpec], exp: Experiment, address: Any) -> Iterator[tuple[RunSpec, dict[str, Any]]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError(
            "a Dask scheduler needs the [dask] extra: pip install 'asgd-toolkit[dask]'"
        ) from None
    client = address if isinstance(address, Client) else Client(address)
    try:
        futures = {
            client.submit(
                run_one, spec, exp, resources={RESOURCE: 1}, pure=False, key=f"asgd-run-{spec.key}"
            ): spec
            for spec in todo
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        if client is not address:
            client.close()


def run_experiment(
    exp: Experiment,
    out: Path,
    scheduler: Any = None,
    on_run: Callable[[RunSpec, dict[str, Any] | None], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run every run of ``exp`` not yet in ``out``, storing each as it finishes; return all
    stored runs by key. ``scheduler``: a Dask scheduler address (or a ``Client``). An
    interrupt (Ctrl-C) ends the experiment with ``KeyboardInterrupt``: the runs that finished
    are stored, the one it cut short is not (a rerun runs it again).
    ``on_run(spec, None)`` is called before a local run starts, ``on_run(spec, record)`` after
    each run finishes."""
    check_cells(exp)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    todo = pending(exp, out)
    if scheduler is None:
        for spec in todo:
            if on_run is not None:
                on_run(spec, None)
            record = run_one(spec, exp)
            _store(out, spec.key, record)
            if on_run is not None:
                on_run(spec, record)
    else:
        for spec, record in _dask(todo, exp, scheduler):
            _store(out, spec.key, record)
            if on_run is not None:
                on_run(spec, record)
    return stored_runs(exp, out)
