"""The demo's stages: each one library call that returns a typed result.

``asgd demo`` (:mod:`real_exec.app.demo`) runs them in order and writes each result as a
section of its report; each stage runs and is tested alone:

1. :func:`real_runs`: every algorithm for real with 1 and 2 threads;
2. :func:`convergence_experiment`: lock, HOGWILD! and Leashed-SGD with constant and
   TAIL-tau steps, repeated, to a target test accuracy;
3. :func:`validate_runs`: a profile calibrated on each real run drives the simulator;
4. :func:`extrapolate`: the calibrated timing on a machine the user does not have;
5. :func:`predict_scaling_on`: time to target against workers on that machine;
6. :func:`compare_rules`: step-size rules under the simulated staleness of many workers;
7. :func:`staleness_bounds`: the convergence bounds for the measured staleness, the PL
   bound against delayed SGD driven by the measured delays, and time to epsilon per method
   on this machine and a server (:func:`time_bounds_table`);
8. :func:`slow_worker`: a machine with one slow worker, forecast from a calibration on this
   machine as it is, then measured with a real slow worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from real_exec.executor.config import ALGORITHMS, RunConfig
from real_exec.executor.monitor import Target
from real_exec.executor.problems import Problem
from real_exec.executor.runner import RunResult, run
from real_exec.study.experiment.spec import Experiment, experiment_toml, parse_experiment
from real_exec.study.predict.forecast import Trial, calibrate_here, forecast, measure, on_machine
from real_exec.study.validate import Validation, validate_run
from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.sgd import SGDCurve, sgd_under_trace
from theory.bounds import BOUNDS, THEOREMS, all_bounds, evaluate_bound, tightest
from theory.delayed_sgd import run_delayed_sgd
from theory.delays import delay_moments
from theory.problems import known_problem, random_quadratic
from theory.spec import make_rule
from theory.staleness import Empirical
from theory.trace import Trace

__all__ = [
    "DEMO_RULES",
    "BoundsResult",
    "ExperimentResult",
    "Extrapolation",
    "Prediction",
    "RealRuns",
    "RuleComparison",
    "SlowWorker",
    "Validations",
    "compare_rules",
    "convergence_experiment",
    "eta_for_staleness",
    "extrapolate",
    "predict_scaling_on",
    "real_runs",
    "slow_worker",
    "staleness_bounds",
    "time_bounds_table",
    "validate_runs",
]

#: The step-size rules the demo compares.
DEMO_RULES = ("constant", "inverse", "tail", "mindthestep")


@dataclass(frozen=True)
class RealRuns:
    """Real runs by ``(algorithm, threads)``, each ``seconds`` long."""

    results: dict[tuple[str, int], RunResult]
    seconds: float

    def table(self) -> pd.DataFrame:
        rows = []
        for (algo, threads), r in self.results.items():
            s = r.summary()
            rows.append(
                {
                    "algo": algo,
                    "threads": threads,
                    "updates/s": s["throughput"],
                    "tau_mean": s["tau_mean"],
                    "test_accuracy": s.get("test_accuracy"),
                    "cas_failures": s["cas_failures"],
                    "dropped": s["dropped"],
                }
            )
        return pd.DataFrame(rows)

    @property
    def machine(self) -> dict[str, Any]:
        return next(iter(self.results.values())).machine


def real_runs(problem: Problem, seconds: float, threads: tuple[int, ...] = (1, 2)) -> RealRuns:
    """Every algorithm with each of ``threads`` for ``seconds`` at step 0.05."""
    results = {
        (algo, m): run(RunConfig(algo, m, eta=0.05, seconds=seconds, seed=m, check_updates=False), problem)
        for algo in ALGORITHMS
        for m in threads
    }
    return RealRuns(results, seconds)


@dataclass(frozen=True)
class ExperimentResult:
    """A finished convergence experiment: its specification, stored runs and tables."""

    spec: Experiment
    records: dict[str, dict[str, Any]]
    runs: pd.DataFrame
    summary: pd.DataFrame

    @property
    def fastest(self) -> str:
        """The cell with the shortest median time to target."""
        return str(self.summary.sort_values("median_time_to_target").iloc[0]["cell"])


def convergence_experiment(
    out: Path,
    dataset: str,
    *,
    eta: float,
    target: float,
    check_every: float,
    budget: float,
    repetitions: int,
) -> ExperimentResult:
    """Lock, HOGWILD! and Leashed-SGD with constant and TAIL-tau steps, 2 threads, the MLP on
    ``dataset`` at step ``eta``, each ``repetitions`` times to ``target`` test accuracy
    (checked every ``check_every`` seconds) or ``budget`` seconds.
    The experiment file is written to ``out/experiment.toml`` (``asgd experiment`` reruns it)
    and the runs, tables and report under ``out``."""
    from real_exec.study.experiment.execute import run_experiment
    from real_exec.study.experiment.tables import runs_table, summary_table

    data: dict[str, dict[str, Any]] = {
        "run": {"model": "mlp", "dataset": dataset, "threads": 2, "eta": eta},
        "grid": {"algo": ["lock", "hogwild", "leashed"], "stepsize": ["constant", "tail"]},
        "target": {"test_accuracy": target, "check_every": check_every},
        "budget": {"seconds": budget},
        "repeat": {"count": repetitions, "seed": 1, "baseline": {"algo": "lock", "stepsize": "constant"}},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "experiment.toml").write_text(experiment_toml(data))
    exp = parse_experiment(data)
    records = run_experiment(exp, out)
    runs = runs_table(exp, records)
    return ExperimentResult(exp, records, runs, summary_table(exp, runs))


@dataclass(frozen=True)
class Validations:
    """A validation of each real run (:func:`~real_exec.study.validate.validate_run`)."""

    by_run: dict[tuple[str, int], Validation]

    def table(self) -> pd.DataFrame:
        rows = []
        for (algo, threads), v in self.by_run.items():
            c = v.comparison
            rows.append(
                {
                    "algo": algo,
                    "threads": threads,
                    "TV": c.tv,
                    "W1": c.w1,
                    "throughput real": c.throughput_a,
                    "throughput sim": c.throughput_b,
                    "ratio sim/real": c.throughput_ratio,
                    "CAS fail real": c.cas_failure_rate["a"],
                    "CAS fail sim": c.cas_failure_rate["b"],
                }
            )
        return pd.DataFrame(rows)

    def profiles(self, threads: int) -> dict[str, HardwareProfile]:
        """The profiles calibrated on the runs with ``threads`` threads, by algorithm."""
        return {algo: v.profile for (algo, m), v in self.by_run.items() if m == threads}


def validate_runs(real: RealRuns) -> Validations:
    """Calibrate on each real run, simulate it, compare (seed: the run's threads)."""
    return Validations({key: validate_run(r, seed=key[1]) for key, r in real.results.items()})


@dataclass(frozen=True)
class Extrapolation:
    """Simulated executions on ``machine`` by ``(algorithm, workers)``."""

    machine: HardwareProfile
    traces: dict[tuple[str, int], Trace]
    table: pd.DataFrame


def extrapolate(
    profiles: dict[str, HardwareProfile], machine: HardwareProfile, workers: tuple[int, ...], gradients: int
) -> Extrapolation:
    """Each algorithm's calibrated timing moved onto ``machine`` (its cores, sockets, NUMA
    penalty, lock and CAS costs: :func:`~real_exec.study.predict.forecast.on_machine`) and
    simulated with each of ``workers`` for ``gradients`` gradients (seed: the workers)."""
    traces, rows = {}, []
    for algo, profile in profiles.items():
        hypothetical = on_machine(profile, machine)
        for m in workers:
            res = simulate(SimConfig(algo, m, hypothetical, gradients, seed=m))
            traces[(algo, m)] = res.trace
            s = res.summary()
            rows.append(
                {
                    "algo": algo,
                    "workers": m,
                    "throughput": s["throughput"],
                    "tau_mean": s["tau_mean"],
                    "CAS failures/gradient": s["cas_failures"] / s["gradients"],
                    "peak live vectors": s["peak_live_vectors"],
                }
            )
    return Extrapolation(machine, traces, pd.DataFrame(rows))


@dataclass(frozen=True)
class Prediction:
    """Predicted time to target against workers (``predicted``, one row per algorithm, rule,
    machine and workers) beside this machine's measurements (``measured``: the experiment's
    2-thread cells and sequential SGD), with the budget in updates each point had."""

    predicted: pd.DataFrame
    measured: pd.DataFrame
    max_updates: int
    rules: list[str]
    update_factor: float


def predict_scaling_on(
    machine: HardwareProfile,
    experiment: ExperimentResult,
    problem: Problem,
    workers: tuple[int, ...],
    calibrate_seconds: float,
    sequential_reps: int,
    rules: tuple[str, ...] | None = None,
    update_factor: float = 4.0,
    progress: Callable[[str], None] | None = None,
) -> Prediction:
    """The experiment's algorithms with its rules (or ``rules``) predicted on ``machine`` for
    each of ``workers`` (:func:`~real_exec.study.predict.scaling.predict_scaling`; at most
    ``update_factor`` times the median updates the real 2-thread runs needed), and measured
    here: the experiment's cells at 2 threads and sequential SGD (lock-based, 1 thread)
    ``sequential_reps`` times."""
    from real_exec.study.predict.scaling import predict_scaling

    exp, runs, summary = experiment.spec, experiment.runs, experiment.summary
    eta = float(exp.cells[0]["eta"])
    algos = list(dict.fromkeys(c["algo"] for c in exp.cells))
    chosen = list(rules) if rules else list(dict.fromkeys(c["stepsize"] for c in exp.cells))
    reached = runs.loc[runs["reached"].astype(bool), "updates_to_target"]
    max_updates = int(update_factor * reached.median()) if len(reached) else 10_000
    rows = predict_scaling(
        problem,
        machine,
        algos=algos,
        rules=chosen,
        workers=workers,
        here=(2,),
        eta=eta,
        target=exp.target,
        max_updates=max_updates,
        calibrate_seconds=calibrate_seconds,
        seed=5,
        progress=progress,
    )
    one = measure(problem, Trial("lock", 1, eta, exp.target, exp.budget, reps=sequential_reps, seed=5))
    km = {"median_time_to_target": one.summary["time_to_target_median"], "q25": one.summary["q25"]}
    km["q75"] = one.summary["q75"]
    sequential = pd.DataFrame(
        [{"algo": "1 thread (sequential)", "rule": r, "workers": 1, **km} for r in chosen]
    )
    measured = pd.concat([summary.rename(columns={"stepsize": "rule"}).assign(workers=2), sequential])
    return Prediction(pd.DataFrame(rows), measured, max_updates, chosen, update_factor)


@dataclass(frozen=True)
class SlowWorker:
    """Forecast and measured time to a test ``accuracy`` with one slow worker (``speeds``),
    per algorithm: ``table`` has the predicted and measured medians (quartiles) and their
    ratio (an infinite time: the target not reached within ``budget`` seconds)."""

    speeds: tuple[float, ...]
    table: pd.DataFrame
    reps: int
    accuracy: float | None
    budget: float


def slow_worker(
    problem: Problem,
    experiment: ExperimentResult,
    algos: tuple[str, ...] = ("sync", "lock"),
    speeds: tuple[float, ...] = (1.0, 4.0),
    reps: int = 2,
    calibrate_seconds: float = 1.0,
    progress: Callable[[str], None] | None = None,
    accuracy: float | None = None,
) -> SlowWorker:
    """Each of ``algos`` with 2 threads at ``speeds``, to the experiment's target (or the
    test ``accuracy`` given): calibrated on this machine as it is (no slow worker), forecast
    with the factors given to the simulated schedule only, then measured ``reps`` times with
    a real slow worker. A run's budget is the experiment's times the largest factor
    (synchronous SGD waits for the slow worker every round, so its time to target grows up
    to that many times); a forecast or run that misses the target within it has an
    infinite time."""
    exp = experiment.spec
    eta = float(exp.cells[0]["eta"])
    target = exp.target if accuracy is None else Target(accuracy=accuracy)
    budget = exp.budget * max(speeds)
    rows = []
    for algo in algos:
        if progress is not None:
            progress(f"{algo}: calibrating on this machine as it is")
        profile = calibrate_here(
            problem, algo, 2, eta=eta, seconds=calibrate_seconds, check_every=exp.check_every
        )
        trial = Trial(
            algo,
            2,
            eta,
            target,
            budget,
            reps=reps,
            seed=7,
            check_every=exp.check_every,
            speeds=speeds,
        )
        predicted = forecast(problem, trial, profile, progress=progress).summary
        measured = measure(problem, trial, progress=progress).summary
        rows.append(
            {
                "algo": algo,
                "predicted_median": predicted["time_to_target_median"],
                "predicted_q25": predicted["q25"],
                "predicted_q75": predicted["q75"],
                "measured_median": measured["time_to_target_median"],
                "measured_q25": measured["q25"],
                "measured_q75": measured["q75"],
                "predicted/measured": predicted["time_to_target_median"] / measured["time_to_target_median"],
            }
        )
    return SlowWorker(speeds, pd.DataFrame(rows), reps, target.accuracy, budget)


def eta_for_staleness(lsmooth: float, tau: np.ndarray, quantile: float = 0.99) -> float:
    """A step for delayed SGD under measured staleness: the classic non-convex step limit
    ``eta0 = 1 / (2 L (tau_max + 1))`` (:data:`theory.bounds.THEOREMS`, ``classic``) with
    ``tau_max`` the ``quantile`` of the staleness, since the longest of a long-tailed sample
    would make every step tiny."""
    return 1.0 / (2.0 * lsmooth * (int(np.quantile(tau, quantile)) + 1))


@dataclass(frozen=True)
class RuleComparison:
    """SGD on a quadratic under the simulated staleness of ``workers`` workers, per algorithm
    and rule: ``table`` (time to 5% of the initial loss, final loss), the curves of one
    algorithm (``shown``), and that algorithm's warm-up pmf with each rule's ``s(tau)``."""

    workers: int
    table: pd.DataFrame
    shown: str
    curves: dict[str, SGDCurve]
    warmup_pmf: Empirical
    scales: dict[str, np.ndarray]


def compare_rules(
    traces: dict[tuple[str, int], Trace],
    workers: int,
    rules: tuple[str, ...] = DEMO_RULES,
    shown: str = "leashed",
) -> RuleComparison:
    """Each rule under each algorithm's simulated staleness with ``workers`` workers (the
    ``(algorithm, workers)`` entries of ``traces``); TAIL-tau and MindTheStep built from the
    first 10% of the updates (:func:`~staleness_sim.sgd.sgd_under_trace`), the step from
    :func:`eta_for_staleness`."""
    problem = known_problem("quadratic", np.random.default_rng(7), dim=20)
    rows, curves = [], {}
    for (algo, m), trace in traces.items():
        if m != workers:
            continue
        eta0 = eta_for_staleness(problem.lsmooth, trace.staleness())
        for rule in rules:
            curve = sgd_under_trace(trace, problem, np.random.default_rng(1), eta0=eta0, rule=rule)
            hit = np.flatnonzero(curve.loss <= 0.05 * curve.loss[0])
            rows.append(
                {
                    "algo": algo,
                    "rule": rule,
                    "time to 5% of the initial loss (s)": float(curve.time[hit[0]]) if hit.size else np.nan,
                    "final loss": float(curve.loss[-1]),
                }
            )
            if algo == shown:
                curves[rule] = curve
    tau = traces[(shown, workers)].staleness()
    pmf = Empirical.from_samples(tau[: max(1, tau.size // 10)])
    k = np.arange(pmf.probs.size)
    scales = {rule: make_rule(rule, pmf)(k) for rule in rules}
    return RuleComparison(workers, pd.DataFrame(rows), shown, curves, pmf, scales)


@dataclass(frozen=True)
class BoundsResult:
    """Per algorithm and rule, the tightest non-convex bound for the measured staleness
    (``table``); and the PL bound against delayed SGD driven by one run's measured delays
    (``iterations``, ``pl_bound``, ``pl_measured``: the mean gap over the runs); and the time
    to epsilon of each method on this machine's and a server's compute times (``times``)."""

    table: pd.DataFrame
    iterations: np.ndarray
    pl_bound: np.ndarray
    pl_measured: np.ndarray
    times: pd.DataFrame


def time_bounds_table(machines: dict[str, np.ndarray]) -> pd.DataFrame:
    """Each method's time to epsilon (L = 1, sigma2 = 1, f(x0) - f* = 10, epsilon = 0.1) on
    each machine's compute times (seconds per gradient per worker), the tightest marked."""
    from theory.time_bounds import Objective, rate, time_bounds

    objective = Objective(1.0, 1.0, 10.0, 0.1)
    rows = []
    for machine, times in machines.items():
        results = time_bounds(times, objective)
        best = min(r.time for r in results)
        optimum, m_star = rate(times, objective)
        for r in results:
            rows.append(
                {
                    "machine": machine,
                    "method": r.method,
                    "time bound (s)": r.time,
                    "tightest": r.time == best,
                    "parameter": f"{r.parameter} = {r.value}",
                    "workers used": r.workers_used,
                    "workers": len(times),
                    "rate / optimum": r.rate / optimum,
                    "optimal workers": m_star,
                }
            )
    return pd.DataFrame(rows)


def staleness_bounds(
    staleness: dict[str, np.ndarray],
    pl_staleness: np.ndarray,
    runs: int,
    rules: tuple[str, ...] = DEMO_RULES,
    machines: dict[str, np.ndarray] | None = None,
) -> BoundsResult:
    """For each algorithm's measured staleness and each rule, the tightest non-convex bound
    of the theorems that cover the rule (L = 1, sigma2 = 1, f(x0) - f* = 10, epsilon = 0.1)
    beside the classic theorem's; the PL bound against ``runs`` runs of delayed SGD on a
    random quadratic with the delays of ``pl_staleness``; and the time bounds on
    ``machines`` (:func:`time_bounds_table`)."""
    rows = []
    for algo, tau in staleness.items():
        pmf = Empirical.from_samples(tau)
        for rule in rules:
            s = None if rule == "constant" else make_rule(rule, pmf)
            results, _ = all_bounds("nonconvex", lsmooth=1.0, sigma2=1.0, pmf=pmf, rule=s, f0=10.0, eps=0.1)
            own = [r for r in results if THEOREMS[r.theorem].rule in (None, rule)]
            best = tightest(own)
            classic = next(r for r in own if r.theorem == "classic")
            rows.append(
                {
                    "algo": algo,
                    "rule": rule,
                    "tau_max": int(tau.max()),
                    "tau_avg": float(tau.mean()),
                    "tightest theorem": best.theorem,
                    "eta0": best.eta,
                    "iterations to epsilon": best.iterations_to_epsilon,
                    "classic: iterations": classic.iterations_to_epsilon,
                }
            )
    rng = np.random.default_rng(3)
    problem = random_quadratic(rng, dim=10, lsmooth=1.0, mu=0.05, sigma2=0.5)
    x0 = problem.x_star + 1.0
    pmf = Empirical.from_samples(pl_staleness)
    d = delay_moments(pmf=pmf)
    eta0 = BOUNDS["pl"].step_limit(problem.lsmooth, d)
    t_max = min(pl_staleness.size, 2000)
    delayed = run_delayed_sgd(problem, x0, eta0, pmf, t_max, rng, runs=runs)
    ts = np.unique(np.geomspace(1, t_max - 1, 30).astype(int))
    f0 = float(problem.value(x0) - problem.f_star)
    bound = [
        evaluate_bound(
            "pl", lsmooth=1.0, sigma2=0.5, delays=d, f0=f0, mu=problem.mu, eta0=eta0, iterations=int(t)
        ).bound
        for t in ts
    ]
    return BoundsResult(
        pd.DataFrame(rows),
        ts,
        np.asarray(bound, dtype=np.float64),
        delayed.gap[:, ts].mean(axis=0),
        time_bounds_table(machines or {}),
    )
