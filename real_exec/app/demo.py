"""``asgd demo``: the whole toolkit on its built-in default, written up as a report.

1. Real runs of the four algorithms with 1 and 2 threads (digits MLP), and a small
   convergence experiment: lock, HOGWILD! and Leashed-SGD with constant and TAIL-tau steps,
   repeated, to a target test accuracy (the MLP on Fashion-MNIST when it is installed,
   else on digits).
2. Validation: a profile calibrated on each run drives the simulator; staleness and
   throughput are compared.
3. Extrapolation: the calibrated simulator on a hypothetical 64-core, 2-socket server
   (the shipped ``server-2s-64`` profile's cores, sockets and NUMA penalty) for 4..64 workers.
4. Prediction: time to target against workers (4..64) on that server for the experiment's
   algorithms and rules (calibrated here, simulated schedules, the training replayed in
   them), beside the measured 1- and 2-thread points.
5. Step-size rules: TAIL-tau derived from each execution's staleness; SGD on a quadratic
   under the simulated delays, compared by simulated time to a target loss.
6. Bounds: the convergence bounds evaluated for the measured staleness, and the PL bound
   against delayed SGD driven by the measured delays.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from real_exec.app.options import cli_errors, out_option
from real_exec.app.report import Report, format_number
from real_exec.executor.config import ALGORITHMS, RunConfig
from real_exec.executor.problems import make_problem
from real_exec.executor.runner import RunResult, run
from real_exec.study.predict.forecast import on_machine
from real_exec.study.validate import plot_comparison, validate_run
from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.profile import HardwareProfile, load_profile
from staleness_sim.sgd import sgd_under_trace
from theory.bounds import BOUNDS, THEOREMS, all_bounds, evaluate_bound, tightest
from theory.delayed_sgd import run_delayed_sgd
from theory.delays import delay_moments
from theory.plots import new_figure, plot_rules
from theory.problems import known_problem, random_quadratic
from theory.spec import make_rule
from theory.staleness import Empirical
from theory.trace import Trace

__all__ = ["demo_command", "run_demo"]

#: The step-size rules the demo compares.
DEMO_RULES = ("constant", "inverse", "tail", "mindthestep")


class _State:
    """What the stages pass on to each other."""

    def __init__(self, out: Path, quick: bool) -> None:
        self.out, self.quick = out, quick
        self.report = Report(out, "asgd demo")
        self.real: dict[tuple[str, int], RunResult] = {}
        self.profiles: dict[str, HardwareProfile] = {}
        self.extrapolated: dict[tuple[str, int], Trace] = {}
        self.summary: list[dict[str, Any]] = []
        self.experiment: dict[str, Any] = {}  # the experiment's workload, target and tables
        self.progress: Callable[[str], None] = lambda text: None  # says what a long stage is doing


def _real_runs(st: _State) -> None:
    seconds = 0.6 if st.quick else 2.0
    problem = make_problem("digits-mlp", np.random.default_rng(0))
    rows = []
    for algo in ALGORITHMS:
        for threads in (1, 2):
            r = run(
                RunConfig(algo, threads, eta=0.05, seconds=seconds, seed=threads, check_updates=False),
                problem,
            )
            st.real[(algo, threads)] = r
            r.trace.save(st.out / "traces" / f"real_{algo}_{threads}")
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
    st.report.heading("1. Real runs on this machine (digits MLP: 64 inputs, 128 hidden, 10 classes)")
    info = next(iter(st.real.values())).machine
    st.report.text(
        f"{info['cpu_model']}, {info['cores']} cores, Python {info['python']}, numba {info['numba']}; "
        f"{seconds:g} s per run."
    )
    st.report.table("real_runs", pd.DataFrame(rows), "Real runs")


#: The demo's experiment: Fashion-MNIST when installed (target, budget), digits otherwise.
_EXPERIMENT = """
[run]
model = "mlp"
dataset = "{dataset}"
threads = 2
eta = 0.05
[grid]
algo = ["lock", "hogwild", "leashed"]
stepsize = ["constant", "tail"]
[target]
test_accuracy = {target}
check_every = 0.05
[budget]
seconds = {budget}
[repeat]
count = {count}
seed = 1
baseline = {{ algo = "lock", stepsize = "constant" }}
"""


def _experiment(st: _State) -> None:
    from real_exec.app.experiment import curves_figure, describe, time_to_target_figure, write_report
    from real_exec.executor.data.datasets import find_files
    from real_exec.executor.data.errors import DataError
    from real_exec.study.experiment.execute import run_experiment
    from real_exec.study.experiment.spec import load_experiment
    from real_exec.study.experiment.tables import runs_table, summary_table

    try:
        find_files("fashion-mnist")
        dataset, target, budget = "fashion-mnist", (0.84 if st.quick else 0.86), 15
        where = "the MLP (784-128-10) on Fashion-MNIST"
    except DataError:
        dataset, target, budget = "digits", 0.975, 5
        where = (
            "the MLP on scikit-learn's digits "
            "(Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist)"
        )
    text = _EXPERIMENT.format(dataset=dataset, target=target, budget=budget, count=2 if st.quick else 3)
    spec = st.out / "experiment" / "experiment.toml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(text)
    exp = load_experiment(spec)
    records = run_experiment(exp, st.out / "experiment")
    runs = runs_table(exp, records)
    summary = summary_table(exp, runs)
    write_report(st.out / "experiment", exp, runs, summary, records)
    st.report.heading("2. Which algorithm and step size reach the target first")
    st.report.text(
        f"A small experiment on {where}, 2 threads: {describe(exp)} The file, every run and the "
        "experiment's own report are in experiment/ (asgd experiment experiment/experiment.toml "
        "reruns it)."
    )
    st.report.figure("time_to_target", time_to_target_figure(exp, runs), "Time to target per cell")
    st.report.figure("experiment_curves", curves_figure(exp, records), "Median loss and accuracy per cell")
    st.report.table("experiment", summary, "Kaplan-Meier median time to target; speed-up over lock, constant")
    st.experiment = {"dataset": dataset, "where": where, "spec": exp, "runs": runs, "summary": summary}
    best = summary.sort_values("median_time_to_target").iloc[0]
    st.summary.append(
        {"stage": "experiment", "item": f"MLP on {dataset}", "value": f"fastest: {best['cell']}"}
    )


def _validation(st: _State) -> None:
    rows = []
    fig = new_figure(10.0, 3.4)
    axes = fig.subplots(1, 4)
    for ax, algo in zip(axes, ALGORITHMS, strict=True):
        for threads in (1, 2):
            v = validate_run(st.real[(algo, threads)], seed=threads)
            real, sim, profile, c = v.real, v.sim, v.profile, v.comparison
            sim.trace.save(st.out / "traces" / f"sim_{algo}_{threads}")
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
            if threads == 2:
                st.profiles[algo] = profile
                plot_comparison(ax, real.trace, sim.trace, f"{algo}, 2 threads")
    st.report.heading("3. Validation: the simulator calibrated on each real run")
    st.report.figure("staleness_real_vs_sim", fig, "Staleness pmf, real against calibrated simulation")
    frame = pd.DataFrame(rows)
    st.report.table("validation", frame, "Real against simulated")
    st.summary += [
        {
            "stage": "validation",
            "item": f"{r['algo']} x{r['threads']}",
            "value": f"TV {r['TV']:.3f}, throughput ratio {r['ratio sim/real']:.2f}",
        }
        for r in rows
    ]


def _extrapolation(st: _State) -> None:
    server = load_profile("server-2s-64")
    workers = (4, 8, 16, 32, 64) if not st.quick else (4, 16, 64)
    gradients = 1500 if st.quick else 5000
    rows = []
    for algo in ALGORITHMS:
        hypothetical = on_machine(st.profiles[algo], server)
        for m in workers:
            res = simulate(SimConfig(algo, m, hypothetical, gradients, seed=m))
            st.extrapolated[(algo, m)] = res.trace
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
    frame = pd.DataFrame(rows)
    fig = new_figure(10.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    for name, group in frame.groupby("algo"):
        ax1.plot(group["workers"], group["throughput"], marker="o", label=str(name))
        ax2.plot(group["workers"], group["tau_mean"], marker="o", label=str(name))
    ax1.set(xscale="log", yscale="log", xlabel="workers", ylabel="updates / s", title="Throughput")
    ax2.set(xscale="log", xlabel="workers", ylabel="mean staleness", title="Staleness")
    for ax in (ax1, ax2):
        ax.set_xticks(list(workers), [str(m) for m in workers])
        ax.minorticks_off()
        ax.legend(fontsize=8)
    st.report.heading("4. Extrapolation to a hypothetical 64-core, 2-socket server")
    st.report.text(
        "Timing calibrated on this machine's 2-thread runs; cores, sockets, NUMA penalty, lock and "
        "CAS costs from the shipped server-2s-64 profile (assumed numbers, see docs/simulator.md)."
    )
    st.report.figure("throughput_vs_workers", fig, "Simulated throughput and staleness against workers")
    st.report.table("extrapolation", frame, "Extrapolated executions")


def _prediction(st: _State) -> None:
    """Time to target against workers on the server, beside this machine's measurements."""
    from real_exec.executor.plots import plot_scaling
    from real_exec.executor.problems import problem_from_options
    from real_exec.study.predict.forecast import Trial, measure
    from real_exec.study.predict.scaling import predict_scaling

    e = st.experiment
    exp, runs, summary = e["spec"], e["runs"], e["summary"]
    problem = problem_from_options(None, "mlp", e["dataset"], seed=0)
    eta = float(exp.cells[0]["eta"])
    algos = list(dict.fromkeys(c["algo"] for c in exp.cells))
    rules = list(dict.fromkeys(c["stepsize"] for c in exp.cells))
    reached = runs.loc[runs["reached"].astype(bool), "updates_to_target"]
    max_updates = int(4 * reached.median()) if len(reached) else 10_000
    workers = (4, 16) if st.quick else (4, 8, 16, 32, 64)
    server = load_profile("server-2s-64")
    rows = predict_scaling(
        problem,
        server,
        algos=algos,
        rules=rules,
        workers=workers,
        here=(2,),
        eta=eta,
        target=exp.target,
        max_updates=max_updates,
        calibrate_seconds=1.0 if st.quick else 2.0,
        seed=5,
        progress=st.progress,
    )
    predicted = pd.DataFrame(rows)
    one = measure(
        problem, Trial("lock", 1, eta, exp.target, exp.budget, reps=2 if st.quick else 3, seed=5)
    ).summary
    measured = summary.rename(columns={"stepsize": "rule"}).assign(workers=2)
    sequential = pd.DataFrame(
        [{"algo": "1 thread (sequential)", "rule": r, "workers": 1, **_km(one)} for r in rules]
    )
    measured = pd.concat([measured, sequential])
    fig = new_figure(10.0, 4.0)
    for ax, rule in zip(fig.subplots(1, len(rules), sharey=True), rules, strict=True):
        plot_scaling(
            ax, predicted[predicted["rule"] == rule], measured[measured["rule"] == rule], f"step size: {rule}"
        )
    fig.axes[0].legend(fontsize=7)
    st.report.heading("5. Prediction: time to target on the server")
    st.report.text(
        f"{e['where']}, target test accuracy {exp.target.accuracy:g}. For each algorithm a profile "
        f"calibrated on a 2-thread run here is moved onto the server-2s-64 profile and the training "
        f"is replayed in simulated schedules of 4..64 workers (one schedule per point; at most "
        f"{max_updates:,} updates, four times the median the real 2-thread runs needed; a triangle "
        "marks a point that did not reach the target within that budget). Open squares: the same "
        "prediction for 2 threads here; filled circles: measured here (2 threads: the experiment "
        "above; 1 thread: sequential SGD, the same for every algorithm), with quartiles. HOGWILD!'s "
        "torn reads are replayed as consistent stale reads, its lost updates as measured by a "
        "probe here (docs/prediction.md)."
    )
    st.report.figure("predicted_time_to_target", fig, "Predicted time to target against workers")
    st.report.table("prediction", predicted, "Predicted time to target (inf: not reached within the budget)")
    there = predicted[predicted["machine"] != "here"]
    for (algo, rule), group in there.groupby(["algo", "rule"], sort=False):
        best = group.sort_values("median_time_to_target").iloc[0]
        value = (
            f"{best['median_time_to_target']:.3g} s with {best['workers']} workers"
            if np.isfinite(best["median_time_to_target"])
            else "target not reached within the budget"
        )
        st.summary.append({"stage": "prediction", "item": f"{algo}, {rule} on server-2s-64", "value": value})


def _km(measured: dict[str, Any]) -> dict[str, float]:
    return {
        "median_time_to_target": measured["time_to_target_median"],
        "q25": measured["q25"],
        "q75": measured["q75"],
    }


def _stepsizes(st: _State) -> None:
    m = 16
    rng = np.random.default_rng(7)
    problem = known_problem("quadratic", rng, dim=20)
    rows = []
    fig = new_figure(10.0, 3.6)
    ax_loss, ax_scale = fig.subplots(1, 2)
    for algo in ALGORITHMS:
        trace = st.extrapolated[(algo, m)]
        tau = trace.staleness()
        eta0 = 1.0 / (2.0 * problem.lsmooth * (int(np.quantile(tau, 0.99)) + 1))
        for rule in DEMO_RULES:
            curve = sgd_under_trace(trace, problem, np.random.default_rng(1), eta0=eta0, rule=rule)
            target = 0.05 * curve.loss[0]
            hit = np.flatnonzero(curve.loss <= target)
            rows.append(
                {
                    "algo": algo,
                    "rule": rule,
                    "time to 5% of the initial loss (s)": float(curve.time[hit[0]])
                    if hit.size
                    else float("nan"),
                    "final loss": float(curve.loss[-1]),
                }
            )
            if algo == "leashed":
                ax_loss.plot(curve.time, curve.loss, label=rule)
        if algo == "leashed":
            pmf = Empirical.from_samples(tau[: max(1, tau.size // 10)])
            k = np.arange(pmf.probs.size)
            scales = {rule: make_rule(rule, pmf)(k) for rule in DEMO_RULES}
            plot_rules(ax_scale, k, pmf.probs, scales, "warm-up P(tau)", f"s(tau), leashed, {m} workers")
    ax_loss.set(
        yscale="log", xlabel="simulated time (s)", ylabel="f - f*", title=f"SGD, leashed, {m} workers"
    )
    ax_loss.legend(fontsize=8)
    st.report.heading(f"6. Step-size rules under the simulated staleness of {m} workers")
    st.report.text("TAIL-tau and MindTheStep are derived from the first 10% of each execution's updates.")
    st.report.figure("stepsize_rules", fig, "Loss against simulated time per rule, and s(tau) per rule")
    frame = pd.DataFrame(rows)
    st.report.table("stepsize_comparison", frame, "Time to target loss by algorithm and rule")
    best = frame.loc[frame.groupby("algo")["time to 5% of the initial loss (s)"].idxmin().dropna()]
    st.summary += [
        {"stage": "step sizes", "item": r["algo"], "value": f"fastest rule: {r['rule']}"}
        for _, r in best.iterrows()
    ]


def _bounds(st: _State) -> None:
    rows = []
    for algo in ALGORITHMS:
        tau = st.real[(algo, 2)].trace.staleness()
        pmf = Empirical.from_samples(tau)
        for rule in DEMO_RULES:
            s = None if rule == "constant" else make_rule(rule, pmf)
            results, _ = all_bounds("nonconvex", lsmooth=1.0, sigma2=1.0, pmf=pmf, rule=s, f0=10.0, eps=0.1)
            own = [r for r in results if THEOREMS[r.theorem].rule in (None, rule)]  # this rule's
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
    st.report.heading("7. Convergence bounds for the measured staleness (2 threads)")
    st.report.text(
        "Non-convex bound, L = 1, sigma2 = 1, f(x0) - f* = 10, epsilon = 0.1; for each rule the "
        "tightest of the theorems that cover it (asgd bound --all; docs/theory.md), its step "
        "eta0 chosen by the bound, and the classic theorem's iterations beside it."
    )
    st.report.table("bounds", pd.DataFrame(rows), "Iterations to epsilon for the measured staleness")
    st.summary += [
        {
            "stage": "bounds",
            "item": f"{r['algo']}, constant step",
            "value": f"{r['tightest theorem']}: {format_number(r['iterations to epsilon'])} iterations "
            f"(classic {format_number(r['classic: iterations'])})",
        }
        for r in rows
        if r["rule"] == "constant"
    ]
    # The PL bound against delayed SGD driven by the real leashed run's delays.
    tau = st.real[("leashed", 2)].trace.staleness()
    rng = np.random.default_rng(3)
    problem = random_quadratic(rng, dim=10, lsmooth=1.0, mu=0.05, sigma2=0.5)
    x0 = problem.x_star + 1.0
    pmf = Empirical.from_samples(tau)
    d = delay_moments(pmf=pmf)
    eta0 = BOUNDS["pl"].step_limit(problem.lsmooth, d)
    t_max = min(tau.size, 2000)
    runs = run_delayed_sgd(problem, x0, eta0, pmf, t_max, rng, runs=16 if st.quick else 64)
    ts = np.unique(np.geomspace(1, t_max - 1, 30).astype(int))
    f0 = float(problem.value(x0) - problem.f_star)
    bound = [
        evaluate_bound(
            "pl", lsmooth=1.0, sigma2=0.5, delays=d, f0=f0, mu=problem.mu, eta0=eta0, iterations=int(t)
        ).bound
        for t in ts
    ]
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(ts, np.asarray(bound, dtype=np.float64), label="PL bound")
    ax.plot(ts, runs.gap[:, ts].mean(axis=0), marker=".", label="delayed SGD with the measured delays")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="iterations",
        ylabel="E[f(x_T) - f*]",
        title="Bound against measurement",
    )
    ax.legend()
    st.report.figure(
        "bound_vs_measured", fig, "PL bound and delayed SGD driven by the real leashed staleness"
    )


def run_demo(out: Path, quick: bool = False) -> Path:
    """Write the demo report to ``out``; return the path of ``index.html``."""
    st = _State(out, quick)
    stages: list[tuple[str, Callable[[_State], None]]] = [
        ("real runs", _real_runs),
        ("experiment", _experiment),
        ("validation", _validation),
        ("extrapolation", _extrapolation),
        ("prediction", _prediction),
        ("step-size rules", _stepsizes),
        ("bounds", _bounds),
    ]
    with click.progressbar(length=len(stages), label="asgd demo", file=sys.stderr) as bar:
        for name, stage in stages:
            bar.label = f"asgd demo: {name}"
            st.progress = functools.partial(_say, bar, bar.label)
            stage(st)
            bar.update(1)
    summary = pd.DataFrame(st.summary)
    st.report.heading("Summary")
    st.report.table("summary", summary, "Summary")
    click.echo(summary.to_string(index=False))
    return st.report.write()


def _say(bar: Any, stage: str, text: str) -> None:
    bar.label = f"{stage}: {text}"
    bar.render_progress()


@click.command("demo")
@out_option("Directory for the report.", default=Path("asgd-demo"))
@click.option("--quick", is_flag=True, help="A smaller, faster run.")
@cli_errors
def demo_command(out: Path, quick: bool) -> None:
    """Show the toolkit on its built-in default and write a report to --out."""
    report = run_demo(out, quick=quick)
    click.echo(f"report written to {report}")
