"""``asgd demo``: the whole toolkit on its built-in default, written up as a report.

:func:`run_demo` is the story: eight stages of :mod:`real_exec.study.demo`, each a library
call whose typed result becomes one section of the report (the ``_section_*`` functions
below) and a few lines of the summary.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np
import pandas as pd

from real_exec.app.options import cli_errors, out_option
from real_exec.app.report import Report, format_number
from real_exec.executor.config import ALGORITHMS
from real_exec.executor.problems import make_problem, problem_from_options
from real_exec.study import demo
from staleness_sim.profile import load_profile
from theory.plots import new_figure, plot_rules

__all__ = ["DemoPlan", "demo_command", "run_demo"]

T = TypeVar("T")

#: The hypothetical machine the demo forecasts (a shipped profile, docs/simulator.md).
SERVER = "server-2s-64"


@dataclass(frozen=True)
class DemoPlan:
    """The demo's sizes: real-run seconds; the experiment's data set, step, target, interval
    between checks of the target, budget and repetitions; the server's worker counts
    (simulated, and predicted to a target) and the rules predicted; the simulated gradients
    per execution, the prediction's calibration seconds and sequential repetitions, the
    delayed-SGD runs against the PL bound, and the repetitions and target accuracy with a
    slow worker.

    The experiment's times to target are about 20-40 check intervals long (measured on a
    2-core machine), so that the interval does not decide the ranking."""

    seconds: float
    dataset: str
    where: str
    note: str
    eta: float
    target: float
    check_every: float
    budget: float
    repetitions: int
    workers: tuple[int, ...]
    predict_workers: tuple[int, ...]
    predict_rules: tuple[str, ...]
    gradients: int
    calibrate_seconds: float
    sequential_reps: int
    pl_runs: int
    slow_reps: int
    slow_target: float

    @classmethod
    def default(cls, quick: bool) -> DemoPlan:
        """Fashion-MNIST when installed, else scikit-learn's digits; ``quick``: smaller."""
        from real_exec.executor.data.datasets import find_files
        from real_exec.executor.data.errors import DataError

        try:
            find_files("fashion-mnist")  # fetched on first use where the network allows
            dataset, eta, check_every, budget, note = "fashion-mnist", 0.05, 0.05, 10.0, ""
            target = 0.84 if quick else 0.85  # confirmed on the whole test set: 1-2 s, 20-40 checks
            slow_target = 0.82  # synchronous SGD with a 4x slower thread: about 2 s
            where = "the MLP (784-128-10) on Fashion-MNIST"
        except DataError as exc:
            # digits is easy: a small step and a short interval keep the target 30 checks away
            dataset, eta, target, check_every, budget = "digits", 0.002, 0.97, 0.01, 3.0
            slow_target = 0.90
            where = "the MLP on scikit-learn's digits"
            note = f"Fashion-MNIST is not here ({exc}); the demo runs on scikit-learn's digits instead."
        return cls(
            seconds=0.3 if quick else 1.0,
            dataset=dataset,
            where=where,
            note=note,
            eta=eta,
            target=target,
            check_every=check_every,
            budget=budget,
            repetitions=2 if quick else 3,
            workers=(4, 16, 64) if quick else (4, 8, 16, 32, 64),
            predict_workers=(4,) if quick else (4, 16, 64),
            predict_rules=("constant",),
            gradients=1500 if quick else 5000,
            calibrate_seconds=0.5 if quick else 1.0,
            sequential_reps=2,
            pl_runs=16 if quick else 64,
            slow_reps=1 if quick else 2,
            slow_target=slow_target,
        )


def run_demo(out: Path, quick: bool = False) -> Path:
    """Write the demo report to ``out``; return the path of ``index.html``."""
    plan = DemoPlan.default(quick)
    report = Report(out, "asgd demo")
    summary: list[dict[str, Any]] = []
    server = load_profile(SERVER)
    if plan.note:
        click.echo(f"asgd demo: {plan.note}", err=True)
    with _Stages(8) as stage:
        real = stage(
            "real runs",
            lambda: demo.real_runs(make_problem("digits-mlp", np.random.default_rng(0)), plan.seconds),
        )
        summary += _section_real_runs(report, real, out)
        exp = stage(
            "experiment",
            lambda: demo.convergence_experiment(
                out / "experiment",
                plan.dataset,
                eta=plan.eta,
                target=plan.target,
                check_every=plan.check_every,
                budget=plan.budget,
                repetitions=plan.repetitions,
            ),
        )
        summary += _section_experiment(report, exp, plan, out)
        checked = stage("validation", lambda: demo.validate_runs(real))
        summary += _section_validation(report, checked, out)
        there = stage(
            "extrapolation",
            lambda: demo.extrapolate(checked.profiles(2), server, plan.workers, plan.gradients),
        )
        summary += _section_extrapolation(report, there)
        problem = problem_from_options(None, "mlp", plan.dataset, seed=0)
        predicted = stage(
            "prediction",
            lambda: demo.predict_scaling_on(
                server,
                exp,
                problem,
                plan.predict_workers,
                plan.calibrate_seconds,
                plan.sequential_reps,
                rules=plan.predict_rules,
                update_factor=2.0,
                progress=stage.say,
            ),
        )
        summary += _section_prediction(report, predicted, exp, plan)
        slow = stage(
            "a slow worker",
            lambda: demo.slow_worker(
                problem,
                exp,
                reps=plan.slow_reps,
                calibrate_seconds=plan.calibrate_seconds,
                progress=stage.say,
                accuracy=plan.slow_target,
            ),
        )
        summary += _section_slow_worker(report, slow, exp, plan)
        rules = stage("step-size rules", lambda: demo.compare_rules(there.traces, 16))
        summary += _section_rules(report, rules)
        bounds = stage("bounds", lambda: _bounds(real, plan.pl_runs))
        summary += _section_bounds(report, bounds)
    report.lead(_conclusions(plan, exp, predicted, checked, slow))
    if plan.note:
        report.lead(plan.note)  # above the conclusions: they are about digits, not Fashion-MNIST
    frame = pd.DataFrame(summary)
    report.heading("Summary")
    report.table("summary", frame, "Summary")
    timing = pd.DataFrame({"stage": list(stage.seconds), "seconds": list(stage.seconds.values())})
    report.table("stage_seconds", timing, "Time per stage on this machine")
    click.echo(frame.to_string(index=False))
    return report.write()


def _conclusions(
    plan: DemoPlan,
    exp: demo.ExperimentResult,
    predicted: demo.Prediction,
    checked: demo.Validations,
    slow: demo.SlowWorker,
) -> str:
    """What the demo found, in words: the fastest cell here, the forecast's fastest setup on
    the server, how close the calibrated simulator came to the real runs, and the slow
    worker's forecast against its measurement."""
    s = exp.summary.set_index("cell")
    best = s.sort_values("median_time_to_target").iloc[0]
    base = s.loc[exp.spec.cell_labels()[exp.spec.baseline]] if exp.spec.baseline is not None else None
    target = exp.spec.target.accuracy
    here = (
        f"On this machine (2 threads, {plan.where}), {best.name} reached {target:.1%} test accuracy "
        f"first: median {best['median_time_to_target']:.2f} s"
    )
    if base is not None and base.name != best.name:
        ratio = f" ({best['speedup']:.2f}x faster)" if np.isfinite(best.get("speedup", np.nan)) else ""
        here += (
            f", against {base['median_time_to_target']:.2f} s for lock-based SGD with constant steps{ratio}."
        )
    else:
        here += "."
    there = predicted.predicted[predicted.predicted["machine"] != "here"]
    reached = there[np.isfinite(there["median_time_to_target"])]
    if len(reached):
        top = reached.sort_values("median_time_to_target").iloc[0]
        forecast = (
            f" Forecast for the 64-core server ({SERVER}): {top['algo']} with {top['rule']} steps and "
            f"{top['workers']} workers, {top['median_time_to_target']:.2f} s to the same target."
        )
    else:
        forecast = (
            f" Forecast for the 64-core server ({SERVER}): no setup reached the target within its budget."
        )
    tv = checked.table().query("threads == 2")["TV"]
    check = (
        f" The simulator calibrated on each 2-thread run reproduced its staleness within a total "
        f"variation distance of {tv.max():.2f} (0: identical)."
    )
    pairs = "; ".join(
        f"{r['algo']} {_seconds(r['predicted_median'], slow.budget)} forecast, "
        f"{_seconds(r['measured_median'], slow.budget)} measured"
        for r in slow.table.to_dict("records")
    )
    slowed = (
        f" With one of the 2 threads slowed {slow.speeds[-1]:g}x (a machine this one is not; the "
        f"calibration never saw it): {pairs}."
    )
    return here + forecast + check + slowed


class _Stages:
    """A progress bar over the demo's stages; ``stage(name, call)`` runs one and keeps its
    elapsed seconds (``seconds``), said on stderr as it ends."""

    def __init__(self, count: int) -> None:
        self._bar = click.progressbar(length=count, label="asgd demo", file=sys.stderr)
        self._name = ""
        self.seconds: dict[str, float] = {}

    def __enter__(self) -> _Stages:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, name: str, call: Callable[[], T]) -> T:
        self._name = self._bar.label = f"asgd demo: {name}"
        start = time.perf_counter()
        result = call()
        self.seconds[name] = time.perf_counter() - start
        click.echo(f"\nasgd demo: {name}: {self.seconds[name]:.1f} s", err=True)
        self._bar.update(1)
        return result

    def say(self, text: str) -> None:
        """What a long stage is doing now."""
        self._bar.label = f"{self._name}: {text}"
        self._bar.render_progress()


def _section_real_runs(report: Report, real: demo.RealRuns, out: Path) -> list[dict[str, Any]]:
    for (algo, threads), r in real.results.items():
        r.trace.save(out / "traces" / f"real_{algo}_{threads}")
    info = real.machine
    report.heading("1. Real runs on this machine (digits MLP: 64 inputs, 128 hidden, 10 classes)")
    report.text(
        f"{info['cpu_model']}, {info['cores']} cores, Python {info['python']}, numba {info['numba']}; "
        f"{real.seconds:g} s per run."
    )
    report.table("real_runs", real.table(), "Real runs")
    return []


def _section_experiment(
    report: Report, exp: demo.ExperimentResult, plan: DemoPlan, out: Path
) -> list[dict[str, Any]]:
    from real_exec.app.experiment import curves_figure, describe, time_to_target_figure, write_report

    write_report(out / "experiment", exp.spec, exp.runs, exp.summary, exp.records)
    report.heading("2. Which algorithm and step size reach the target first")
    report.text(
        f"A small experiment on {plan.where}, 2 threads: {describe(exp.spec)} The file, every run "
        "and the experiment's own report are in experiment/ (asgd experiment experiment/experiment.toml "
        "reruns it)."
    )
    report.figure(
        "time_to_target", time_to_target_figure(exp.spec, exp.runs, exp.summary), "Time to target per cell"
    )
    report.figure(
        "experiment_curves", curves_figure(exp.spec, exp.records), "Median loss and accuracy per cell"
    )
    report.table(
        "experiment", exp.summary, "Kaplan-Meier median time to target; speed-up over lock, constant"
    )
    return [{"stage": "experiment", "item": f"MLP on {plan.dataset}", "value": f"fastest: {exp.fastest}"}]


def _section_validation(report: Report, checked: demo.Validations, out: Path) -> list[dict[str, Any]]:
    from real_exec.study.validate import plot_comparison

    fig = new_figure(10.0, 3.4)
    for ax, algo in zip(fig.subplots(1, len(ALGORITHMS)), ALGORITHMS, strict=True):
        v = checked.by_run[(algo, 2)]
        plot_comparison(ax, v.real.trace, v.sim.trace, f"{algo}, 2 threads")
    for (algo, threads), v in checked.by_run.items():
        v.sim.trace.save(out / "traces" / f"sim_{algo}_{threads}")
    frame = checked.table()
    report.heading("3. Validation: the simulator calibrated on each real run")
    report.figure("staleness_real_vs_sim", fig, "Staleness pmf, real against calibrated simulation")
    report.table("validation", frame, "Real against simulated")
    for (algo, threads), v in checked.by_run.items():
        for note in v.notes():  # a regime the model is known not to fit, measured on the run
            report.text(f"{algo}, {threads} threads, where the model misses: {note}.")
    return [
        {
            "stage": "validation",
            "item": f"{r['algo']} x{r['threads']}",
            "value": f"TV {r['TV']:.3f}, throughput ratio {r['ratio sim/real']:.2f}",
        }
        for _, r in frame.iterrows()
    ]


def _section_extrapolation(report: Report, there: demo.Extrapolation) -> list[dict[str, Any]]:
    frame = there.table
    workers = sorted(frame["workers"].unique())
    fig = new_figure(10.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    for name, group in frame.groupby("algo"):
        ax1.plot(group["workers"], group["throughput"], marker="o", label=str(name))
        ax2.plot(group["workers"], group["tau_mean"], marker="o", label=str(name))
    ax1.set(xscale="log", yscale="log", xlabel="workers", ylabel="updates / s", title="Throughput")
    ax2.set(xscale="log", xlabel="workers", ylabel="mean staleness", title="Staleness")
    for ax in (ax1, ax2):
        ax.set_xticks(workers, [str(m) for m in workers])
        ax.minorticks_off()
        ax.legend(fontsize=8)
    report.heading(f"4. Extrapolation to a hypothetical 64-core, 2-socket server ({there.machine.name})")
    report.text(
        "Timing calibrated on this machine's 2-thread runs; cores, sockets, NUMA penalty, lock and "
        f"CAS costs from the shipped {SERVER} profile (assumed numbers, see docs/simulator.md)."
    )
    report.figure("throughput_vs_workers", fig, "Simulated throughput and staleness against workers")
    report.table("extrapolation", frame, "Extrapolated executions")
    return []


def _section_prediction(
    report: Report, p: demo.Prediction, exp: demo.ExperimentResult, plan: DemoPlan
) -> list[dict[str, Any]]:
    from real_exec.executor.plots import plot_scaling

    predicted, measured = p.predicted, p.measured
    fig = new_figure(5.0 * len(p.rules), 4.0)
    axes = fig.subplots(1, len(p.rules), sharey=True, squeeze=False).ravel()
    for ax, rule in zip(axes, p.rules, strict=True):
        plot_scaling(
            ax, predicted[predicted["rule"] == rule], measured[measured["rule"] == rule], f"step size: {rule}"
        )
    fig.axes[0].legend(fontsize=7)
    report.heading("5. Prediction: time to target on the server")
    report.text(
        f"{_sentence(plan.where)}, target test accuracy {exp.spec.target.accuracy:g}. "
        "For each algorithm a profile "
        f"calibrated on a 2-thread run here is moved onto the {SERVER} profile and the training "
        f"is replayed in simulated schedules of {', '.join(map(str, plan.predict_workers))} workers with "
        f"{' and '.join(p.rules)} steps (one schedule per point; at most {p.max_updates:,} updates, "
        f"{p.update_factor:g} times the median the real 2-thread runs needed; a triangle "
        "marks a point that did not reach the target within that budget). Open squares: the same "
        "prediction for 2 threads here; filled circles: measured here (2 threads: the experiment "
        "above; 1 thread: sequential SGD, the same for every algorithm), with quartiles. HOGWILD!'s "
        "torn reads are replayed as consistent stale reads, its lost updates as measured by a "
        "probe here (docs/prediction.md)."
    )
    report.figure("predicted_time_to_target", fig, "Predicted time to target against workers")
    report.table("prediction", predicted, "Predicted time to target (inf: not reached within the budget)")
    lines: list[dict[str, Any]] = []
    there = predicted[predicted["machine"] != "here"]
    for (algo, rule_name), group in there.groupby(["algo", "rule"], sort=False):
        best = group.sort_values("median_time_to_target").iloc[0]
        value = (
            f"{best['median_time_to_target']:.3g} s with {best['workers']} workers"
            if np.isfinite(best["median_time_to_target"])
            else "target not reached within the budget"
        )
        lines.append({"stage": "prediction", "item": f"{algo}, {rule_name} on {SERVER}", "value": value})
    return lines


def _seconds(value: float, budget: float) -> str:
    """A time to target for a sentence: ``1.23 s``, or that the target was not reached."""
    return f"{value:.2f} s" if np.isfinite(value) else f"not reached within {budget:g} s"


def _sentence(text: str) -> str:
    """``text`` as the start of a sentence (its first letter upper case, the rest as it is)."""
    return text[:1].upper() + text[1:]


def _section_slow_worker(
    report: Report, slow: demo.SlowWorker, exp: demo.ExperimentResult, plan: DemoPlan
) -> list[dict[str, Any]]:
    t = slow.table
    factors = ",".join(f"{v:g}" for v in slow.speeds)
    fig = new_figure(6.0, 3.6)
    ax = fig.add_subplot()
    x = np.arange(len(t))
    for offset, kind in ((-0.2, "predicted"), (0.2, "measured")):
        median = t[f"{kind}_median"].to_numpy()
        reached = np.isfinite(median)
        # a time not reached is drawn at the budget, hatched: a lower bound, without whiskers
        height = np.where(reached, median, slow.budget)
        q25, q75 = (np.nan_to_num(t[f"{kind}_{q}"].to_numpy(), posinf=slow.budget) for q in ("q25", "q75"))
        spread = np.where(reached, [height - q25, q75 - height], 0.0).clip(min=0)
        bars = ax.bar(x + offset, height, width=0.4, yerr=spread, capsize=3, label=kind)
        for bar, hit in zip(bars, reached, strict=True):
            if not hit:
                bar.set_hatch("//")
    if not np.isfinite(t[["predicted_median", "measured_median"]].to_numpy()).all():
        ax.axhline(slow.budget, color="0.5", linestyle=":", linewidth=1, label="budget (hatched: missed)")
    ax.set_xticks(x, list(t["algo"]))
    ax.set(ylabel="time to target (s)", title=f"2 threads, speeds ({factors})")
    ax.legend(fontsize=8)
    report.heading("6. A slow worker: a machine this one is not, forecast and then checked")
    report.text(
        f"{_sentence(plan.where)}, target test accuracy {slow.accuracy:g} (below the experiment's, "
        "to keep the slowest runs short), 2 threads, the second one "
        f"slowed {slow.speeds[-1]:g}x (speeds {factors}: every gradient of that thread takes "
        f"{slow.speeds[-1]:g} times as long, computing on its core). Each algorithm is calibrated on this "
        "machine as it is, with no slow worker; the forecast gives the factors to the simulated schedule "
        f"only. Then the same setting runs for real, {'once' if slow.reps == 1 else f'{slow.reps} times'}: "
        "synchronous SGD waits for the "
        "slow worker every round, the asynchronous method does not. Bars: medians; whiskers: quartiles. "
        f"A median of {slow.reps} short runs is a rough figure: the forecast is measured with 5 "
        "repetitions per setting, and more settings, by benchmarks/heterogeneity_table.py "
        f"(docs/prediction.md). A run's budget is {slow.budget:g} s (the experiment's times "
        f"{slow.speeds[-1]:g}); a time not reached within it (inf in the table) is drawn hatched "
        "at the budget."
    )
    report.figure("slow_worker", fig, "Time to target with one slow worker: forecast and measured")
    report.table("slow_worker", t, "Forecast and measured time to target with one slow worker")
    return [
        {
            "stage": "a slow worker",
            "item": f"{r['algo']}, speeds ({factors})",
            "value": f"predicted {_seconds(r['predicted_median'], slow.budget)}, "
            f"measured {_seconds(r['measured_median'], slow.budget)}",
        }
        for r in t.to_dict("records")
    ]


def _section_rules(report: Report, c: demo.RuleComparison) -> list[dict[str, Any]]:
    fig = new_figure(10.0, 3.6)
    ax_loss, ax_scale = fig.subplots(1, 2)
    for rule, curve in c.curves.items():
        ax_loss.plot(curve.time, curve.loss, label=rule)
    ax_loss.set(
        yscale="log",
        xlabel="simulated time (s)",
        ylabel="f - f*",
        title=f"SGD, {c.shown}, {c.workers} workers",
    )
    ax_loss.legend(fontsize=8)
    k = np.arange(c.warmup_pmf.probs.size)
    plot_rules(
        ax_scale, k, c.warmup_pmf.probs, c.scales, "warm-up P(tau)", f"s(tau), {c.shown}, {c.workers} workers"
    )
    report.heading(f"7. Step-size rules under the simulated staleness of {c.workers} workers")
    report.text("TAIL-tau and MindTheStep are derived from the first 10% of each execution's updates.")
    report.figure("stepsize_rules", fig, "Loss against simulated time per rule, and s(tau) per rule")
    report.table("stepsize_comparison", c.table, "Time to target loss by algorithm and rule")
    column = "time to 5% of the initial loss (s)"
    best = c.table.loc[c.table.groupby("algo")[column].idxmin().dropna()]
    return [
        {"stage": "step sizes", "item": r["algo"], "value": f"fastest rule: {r['rule']}"}
        for _, r in best.iterrows()
    ]


def _bounds(real: demo.RealRuns, pl_runs: int) -> demo.BoundsResult:
    """The bounds stage on the 2-thread runs' staleness, with time bounds for this machine's
    two threads (the lock-based run's seconds per gradient) and a 64-core server with one
    worker 10x slower."""
    from staleness_sim.profile import load_profile
    from theory.time_bounds import speed_pattern, times_from_trace

    staleness = {algo: real.results[(algo, 2)].trace.staleness() for algo in ALGORITHMS}
    server = load_profile("server-2s-64")
    slowed = server.with_overrides(speed=[float(v) for v in speed_pattern("straggler:10", 64)])
    machines = {
        "this machine, 2 threads": times_from_trace(real.results[("lock", 2)].trace),
        "server-2s-64, one worker 10x slower": slowed.gradient_times(64),
    }
    return demo.staleness_bounds(staleness, staleness["leashed"], pl_runs, machines=machines)


def _section_bounds(report: Report, b: demo.BoundsResult) -> list[dict[str, Any]]:
    report.heading("8. Convergence bounds for the measured staleness (2 threads)")
    report.text(
        "Non-convex bound, L = 1, sigma2 = 1, f(x0) - f* = 10, epsilon = 0.1; for each rule the "
        "tightest of the theorems that cover it (asgd bound --all; docs/theory.md), its step "
        "eta0 chosen by the bound, and the classic theorem's iterations beside it."
    )
    report.table("bounds", b.table, "Iterations to epsilon for the measured staleness")
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(b.iterations, b.pl_bound, label="PL bound")
    ax.plot(b.iterations, b.pl_measured, marker=".", label="delayed SGD with the measured delays")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="iterations",
        ylabel="E[f(x_T) - f*]",
        title="Bound against measurement",
    )
    ax.legend()
    report.figure("bound_vs_measured", fig, "PL bound and delayed SGD driven by the real leashed staleness")
    if not b.times.empty:
        report.text(
            "Time to epsilon (asgd bound time; docs/theory.md, Time to epsilon): each method's "
            "explicit bound on these workers' seconds per gradient, its parameter (R, S) and how "
            "many of the fastest workers it uses; 'rate / optimum' is the papers' rate over the "
            "lower bound's (no constants)."
        )
        report.table("time_bounds", b.times, "Time to epsilon on this machine and on a server")
    return [
        {
            "stage": "bounds",
            "item": f"{r['algo']}, constant step",
            "value": f"{r['tightest theorem']}: {format_number(r['iterations to epsilon'])} iterations "
            f"(classic {format_number(r['classic: iterations'])})",
        }
        for _, r in b.table.iterrows()
        if r["rule"] == "constant"
    ] + [
        {
            "stage": "bounds",
            "item": f"time to epsilon, {r['machine']}",
            "value": f"{r['method']} {format_number(r['time bound (s)'])} s ({r['parameter']})",
        }
        for _, r in b.times.iterrows()
        if r["tightest"]
    ]


@click.command("demo")
@out_option("Directory for the report.", default=Path("asgd-demo"))
@click.option("--quick", is_flag=True, help="A smaller, faster run.")
@cli_errors
def demo_command(out: Path, quick: bool) -> None:
    """Show the toolkit on its built-in default and write a report to --out.

    Real runs of the five algorithms, a convergence experiment (Fashion-MNIST, fetched on
    first use; else scikit-learn's digits), validation of the calibrated simulator, an
    extrapolation and a forecast for a 64-core server, a forecast for one slow worker checked
    by a real one, step-size rules and convergence bounds, in iterations and in time. About 2
    minutes on 2 cores, 3 on a first run, which compiles (--quick: about 1); the report's
    first paragraph says what it found."""
    report = run_demo(out, quick=quick)
    click.echo(f"report written to {report}")
