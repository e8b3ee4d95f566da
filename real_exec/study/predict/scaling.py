"""Time to target against workers on a machine you do not have.

For each algorithm, a profile is calibrated on a short real run here
(:func:`~real_exec.study.predict.forecast.calibrate_here`), moved onto the other machine (its
cores, sockets, NUMA penalty, lock and CAS costs, speed factors) and forecast
(:func:`~real_exec.study.predict.forecast.forecast`) for every worker count and step-size rule.

Replay costs one gradient per simulated update, and a run that does not reach the target
replays up to its budget; so the budget is set in updates, ``max_updates``, and turned into
simulated seconds per worker count as if every worker computed without waiting::

    budget(m) = max_updates * (compute + read + publish) / min(m, cores)

A configuration that is slowed by waiting (a saturated lock) gets fewer updates than that
before it is censored, never more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from real_exec.executor.monitor import Target
from real_exec.executor.problems import Problem
from real_exec.study.predict.forecast import (
    Trial,
    calibrate_here,
    forecast,
    gradient_seconds,
    on_machine,
    replays,
)
from staleness_sim.profile import HardwareProfile

__all__ = ["budget_for", "predict_scaling"]


def budget_for(profile: HardwareProfile, workers: int, max_updates: int) -> float:
    """Simulated seconds in which ``workers`` busy workers make ``max_updates`` updates."""
    if max_updates < 1:
        raise ValueError(f"max_updates must be >= 1, got {max_updates}")
    return max_updates * gradient_seconds(profile, workers) / min(workers, profile.cores or workers)


def predict_scaling(
    problem: Problem,
    machine: HardwareProfile,
    *,
    algos: Sequence[str],
    rules: Sequence[str],
    workers: Sequence[int],
    eta: float,
    target: Target,
    max_updates: int,
    here: Sequence[int] = (),
    calibrate_threads: int = 2,
    calibrate_seconds: float = 2.0,
    reps: int = 1,
    seed: int = 0,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per algorithm, rule and worker count: the Kaplan-Meier median time to target
    (``inf`` when not reached within the budget), its quartiles, the fraction of repetitions
    that reached it, the mean staleness and the budget. ``workers`` are predicted on
    ``machine``, ``here`` on this machine (column ``machine``: its name, or ``"here"``).

    Every calibration runs first, alone on the machine; then the forecasts, which only
    replay, run ``jobs`` at a time (default: one per core;
    :func:`~real_exec.study.predict.forecast.replays`). Each forecast is seeded on its own,
    so the rows do not depend on ``jobs``."""
    setups = []
    for algo in algos:
        local = calibrate_here(problem, algo, calibrate_threads, eta=eta, seconds=calibrate_seconds)
        where = [("here", local, m) for m in here] + [
            (machine.name, on_machine(local, machine), m) for m in workers
        ]
        setups += [(algo, rule, *w) for rule in rules for w in where]

    def row(setup: tuple[str, str, str, HardwareProfile, int]) -> dict[str, Any]:
        algo, rule, where, profile, m = setup
        if progress is not None:
            progress(f"{algo}, {rule}, {m} workers {'here' if where == 'here' else 'on ' + where}")
        budget = budget_for(profile, m, max_updates)
        f = forecast(problem, Trial(algo, m, eta, target, budget, rule, reps, seed), profile, jobs=1)
        return {
            "algo": algo,
            "rule": rule,
            "machine": where,
            "workers": m,
            "median_time_to_target": f.summary["time_to_target_median"],
            "q25": f.summary["q25"],
            "q75": f.summary["q75"],
            "reached": f.summary["reached_fraction"],
            "tau_mean": sum(r["tau_mean"] for r in f.per_rep) / len(f.per_rep),
            "budget": budget,
            "replay_seconds": sum(r["replay_seconds"] for r in f.per_rep),
        }

    return replays(row, setups, jobs)
