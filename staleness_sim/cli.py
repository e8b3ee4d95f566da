"""The ``staleness_sim`` command of ``asgd``: ``simulate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from staleness_sim.engine import ALGORITHMS, SimConfig, simulate
from staleness_sim.profile import HardwareProfile, load_profile
from staleness_sim.result import SimResult
from staleness_sim.sgd import PROBLEMS, make_problem, sgd_under_trace
from theory.cli import POSITIVE, cli_errors, emit, json_option
from theory.spec import RULES

__all__ = ["register", "simulate_command", "sweep_command"]

#: Runs at least this long (gradients) get a progress bar when stderr is a terminal.
PROGRESS_FROM = 200_000


def _profile(
    source: str | None, cores: int | None, compute: str | None, read: str | None, publish: str | None
) -> HardwareProfile:
    base = load_profile(source) if source is not None else HardwareProfile()
    try:
        return base.with_overrides(cores=cores, compute=compute, read=read, publish=publish)
    except ValueError as exc:
        name = next(
            (
                o
                for o, v in (("--compute", compute), ("--read", read), ("--publish", publish))
                if v is not None and o[2:] in str(exc)
            ),
            "--profile",
        )
        raise click.BadParameter(str(exc), param_hint=name) from None


def _run(config: SimConfig, engine: str) -> SimResult:
    if engine == "simpy" and config.gradients >= PROGRESS_FROM and sys.stderr.isatty():
        with click.progressbar(length=config.gradients, label="simulating", file=sys.stderr) as bar:
            done = [0]

            def report(n: int) -> None:
                bar.update(n - done[0])
                done[0] = n

            return simulate(config, "simpy", progress=report)
    return simulate(config, engine)  # type: ignore[arg-type]


@click.command("simulate")
@click.option("--algo", type=click.Choice(ALGORITHMS), required=True, help="Synchronization mechanism.")
@click.option("--workers", type=click.IntRange(min=1), required=True, help="Number of workers M.")
@click.option(
    "--cores", type=click.IntRange(min=1), default=None, help="Cores (default: the profile's, else M)."
)
@click.option(
    "--profile",
    "profile_src",
    default=None,
    help="Hardware profile: a TOML file or a shipped name (laptop-2, workstation-16, server-2s-64).",
)
@click.option(
    "--compute", default=None, help="Gradient time DIST, e.g. expon:scale=1 (default expon:scale=1)."
)
@click.option("--read", default=None, help="Read time DIST (default const:0).")
@click.option("--publish", default=None, help="Publish time DIST (default const:0).")
@click.option(
    "--persistence",
    type=click.IntRange(min=1),
    default=None,
    help="Leashed-SGD: CAS attempts before a gradient is dropped (default unbounded).",
)
@click.option(
    "--updates", type=click.IntRange(min=1), default=10_000, show_default=True, help="Gradients to simulate."
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--engine", type=click.Choice(["simpy", "fast"]), default="simpy", show_default=True)
@click.option(
    "--problem", type=click.Choice(PROBLEMS), default=None, help="Run SGD under the simulated delays."
)
@click.option(
    "--stepsize",
    type=click.Choice(RULES),
    default="constant",
    show_default=True,
    help="Step-size rule for --problem.",
)
@click.option("--eta", type=POSITIVE, default=None, help="eta0 for --problem (default 1/(2L(tau_max+1))).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the Trace (Parquet + JSON) and plots here.",
)
@json_option
@cli_errors
def simulate_command(
    algo: str,
    workers: int,
    cores: int | None,
    profile_src: str | None,
    compute: str | None,
    read: str | None,
    publish: str | None,
    persistence: int | None,
    updates: int,
    seed: int,
    engine: str,
    problem: str | None,
    stepsize: str,
    eta: float | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Simulate an asynchronous SGD execution: staleness, throughput, CAS contention, memory."""
    if persistence is not None and algo != "leashed":
        raise click.BadParameter("only Leashed-SGD has a persistence bound", param_hint="--persistence")
    profile = _profile(profile_src, cores, compute, read, publish)
    config = SimConfig(algo, workers, profile, updates, seed, persistence)
    result = _run(config, engine)
    payload: dict[str, Any] = result.summary()
    trace = result.trace
    curve = None
    if problem is not None:
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        curve = sgd_under_trace(trace, make_problem(problem, rng), rng, eta0=eta, rule=stepsize)
        trace = curve.trace
        payload |= {"problem": problem, "stepsize": stepsize, "final_loss": float(curve.loss[-1])}
    if out is not None:
        payload["files"] = _write_outputs(out, trace, curve)
    lines = [
        f"{algo} with {workers} workers ({engine} engine, seed {seed}): {payload['gradients']} gradients",
        f"  throughput {payload['throughput']:.6g} updates/s of simulated time; mean staleness "
        f"{payload['tau_mean']:.4g}",
        f"  CAS failures {payload['cas_failures']}, dropped {payload['dropped']}, live vectors peak "
        f"{payload['peak_live_vectors']} mean {payload['mean_live_vectors']:.3g}",
    ]
    if curve is not None:
        lines.append(f"  SGD on {problem} with {stepsize} steps: final f - f* = {payload['final_loss']:.4g}")
    if out is not None:
        lines.append(f"  wrote {', '.join(payload['files'])}")
    emit(payload, as_json, lines)


def _write_outputs(out: Path, trace: Any, curve: Any) -> list[str]:
    from staleness_sim.plots import plot_staleness
    from theory.plots import new_figure
    from theory.trace import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    files = [str(p) for p in trace.save(out / "trace")]
    fig = new_figure()
    plot_staleness(fig.add_subplot(), trace)
    atomic_write(out / "staleness.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    files.append(str(out / "staleness.png"))
    if curve is not None:
        frame = curve.frame()
        atomic_write(out / "loss.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
        fig = new_figure()
        ax = fig.add_subplot()
        ax.plot(frame["time"], frame["loss"])
        ax.set(
            yscale="log", xlabel="simulated time (s)", ylabel="f(x) - f*", title="SGD under simulated delays"
        )
        atomic_write(out / "loss.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
        files += [str(out / "loss.parquet"), str(out / "loss.png")]
    return files


@click.command("sweep")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(min=-1),
    default=1,
    show_default=True,
    help="Parallel jobs (joblib; -1 = all cores).",
)
@click.option("--dask-scheduler", "scheduler", default=None, help="Run the cells on this Dask scheduler.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sweep-out"),
    show_default=True,
    help="Directory of cells and results; rerun to resume.",
)
@json_option
@cli_errors
def sweep_command(file: Path, jobs: int, scheduler: str | None, out: Path, as_json: bool) -> None:
    """Run a grid of simulations from FILE.toml; finished cells are kept, so a rerun resumes."""
    from staleness_sim.sweep import load_sweep, run_sweep

    sweep = load_sweep(file)
    total = len(sweep["cells"])
    done_before = sum(1 for i in range(total) if (out / "cells" / f"cell-{i:05d}.json").exists())
    if sys.stderr.isatty():
        with click.progressbar(length=total, label="sweep", file=sys.stderr) as bar:
            bar.update(done_before)
            table = run_sweep(sweep, out, jobs, scheduler, on_cell=lambda _row: bar.update(1))
    else:
        table = run_sweep(sweep, out, jobs, scheduler)
    payload = {
        "cells": total,
        "resumed_from": done_before,
        "results": str(out / "results.parquet"),
        "config": str(out / "config.json"),
    }
    lines = [
        f"{total} cells ({done_before} already done) -> {payload['results']}",
        table.to_string(index=False),
    ]
    emit(payload, as_json, lines)


def register(group: click.Group) -> None:
    """Add the simulator's commands to ``group``."""
    group.add_command(simulate_command)
    group.add_command(sweep_command)
