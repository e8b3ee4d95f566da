"""``asgd simulate`` and ``asgd sweep``: simulated executions, one or a grid."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from real_exec.app.choices import algo_option, seed_option, step_batch_option, stepsize_option
from real_exec.app.options import POSITIVE, cli_errors, emit, json_option, out_option
from staleness_sim.config import SimConfig
from staleness_sim.engines import ENGINES, simulate
from staleness_sim.profile import LOCK_POLICIES, HardwareProfile, load_profile
from theory.problems import KNOWN_PROBLEMS, known_problem

if TYPE_CHECKING:
    from staleness_sim.result import SimResult

__all__ = ["simulate_command", "sweep_command"]

#: Runs at least this long (gradients) get a progress bar when stderr is a terminal.
PROGRESS_FROM = 200_000


def _profile(source: str | None, **options: Any) -> HardwareProfile:
    """The profile ``source`` (default: the built-in one) with the options that were given."""
    base = load_profile(source) if source is not None else HardwareProfile()
    try:
        return base.with_overrides(**options)
    except ValueError as exc:
        given = [k for k, v in options.items() if v is not None and repr(k) in str(exc)]
        hint = "--" + given[0].replace("_", "-") if given else "--profile"
        raise click.BadParameter(str(exc), param_hint=hint) from None


def _run(config: SimConfig, engine: str, keep_trace: bool) -> SimResult:
    if config.gradients >= PROGRESS_FROM and sys.stderr.isatty():
        with click.progressbar(length=config.gradients, label="simulating", file=sys.stderr) as bar:
            done = [0]

            def report(n: int) -> None:
                bar.update(n - done[0])
                done[0] = n

            return simulate(config, engine, progress=report, keep_trace=keep_trace)
    return simulate(config, engine, keep_trace=keep_trace)


@click.command("simulate")
@algo_option
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
    "--lock-policy",
    type=click.Choice(LOCK_POLICIES),
    default=None,
    help="Lock-based: who gets a released lock (default: the profile's, else barging).",
)
@click.option(
    "--persistence",
    type=click.IntRange(min=1),
    default=None,
    help="Leashed-SGD: CAS attempts before a gradient is dropped (default unbounded).",
)
@step_batch_option
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    default=None,
    help="Lock-based as Ringmaster ASGD: gradients whose delay reached R are thrown away (no update).",
)
@click.option(
    "--abandon",
    is_flag=True,
    help="With --threshold: a worker gives up a gradient once the version moved R times.",
)
@click.option(
    "--gradients",
    "--updates",
    "gradients",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Gradients to simulate (computed; the dropped ones included).",
)
@seed_option("Random streams of the run.")
@click.option(
    "--engine",
    type=click.Choice(list(ENGINES)),
    default="auto",
    show_default=True,
    help="simpy, fast (compiled; no time-shared cores or GIL), or auto: fast where it applies. Same Trace.",
)
@click.option(
    "--no-trace",
    is_flag=True,
    help="Keep only the summary and the staleness histogram (very long runs; not with --out or --problem).",
)
@click.option(
    "--problem", type=click.Choice(KNOWN_PROBLEMS), default=None, help="Run SGD under the simulated delays."
)
@stepsize_option
@click.option("--eta", type=POSITIVE, default=None, help="eta0 for --problem (default 1/(2L(tau_max+1))).")
@out_option("Write the Trace (Parquet + JSON) and plots here.")
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
    lock_policy: str | None,
    persistence: int | None,
    step_batch: int | None,
    threshold: int | None,
    abandon: bool,
    gradients: int,
    seed: int,
    engine: str,
    no_trace: bool,
    problem: str | None,
    stepsize: str,
    eta: float | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Simulate an asynchronous SGD execution: staleness, throughput, CAS contention, memory."""
    if persistence is not None and algo != "leashed":
        raise click.BadParameter("only Leashed-SGD has a persistence bound", param_hint="--persistence")
    if step_batch is not None and algo != "rennala":
        raise click.BadParameter("only Rennala SGD has a step batch", param_hint="--step-batch")
    profile = _profile(
        profile_src, cores=cores, compute=compute, read=read, publish=publish, lock_policy=lock_policy
    )
    if no_trace and (out is not None or problem is not None):
        raise click.BadParameter("--out and --problem need the Trace", param_hint="--no-trace")
    if not float(profile.compute.mean()) > 0:
        raise click.BadParameter(
            "a gradient must take time: with a compute time of 0 simulated time stands still and "
            "throughput is undefined",
            param_hint="--compute",
        )
    if threshold is not None and algo != "lock":
        raise click.BadParameter(
            "Ringmaster's threshold is lock-based SGD's (--algo lock)", param_hint="--threshold"
        )
    if abandon and threshold is None:
        raise click.BadParameter("--abandon needs --threshold", param_hint="--abandon")
    config = SimConfig(algo, workers, profile, gradients, seed, persistence, step_batch, threshold, abandon)
    result = _run(config, engine, keep_trace=not no_trace)
    payload: dict[str, Any] = result.summary()
    curve = None
    if problem is not None:
        from staleness_sim.sgd import sgd_under_trace  # pandas: only when SGD runs

        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        curve = sgd_under_trace(result.trace, known_problem(problem, rng), rng, eta0=eta, rule=stepsize)
        result = replace(result, kept_trace=curve.trace)  # the Trace with the step sizes SGD took
        payload |= {"problem": problem, "stepsize": stepsize, "final_loss": float(curve.loss[-1])}
    if out is not None:
        files = result.save(out) + (curve.save(out) if curve is not None else [])
        payload["files"] = [str(f) for f in files]
    lines = [
        f"{algo} with {workers} workers ({result.engine} engine, seed {seed}): "
        f"{payload['gradients']:,} gradients",
        f"  throughput {payload['throughput']:.6g} updates/s of simulated time; mean staleness "
        f"{payload['tau_mean']:.4g}",
        f"  CAS failures {payload['cas_failures']}, dropped {payload['dropped']}, live vectors peak "
        f"{payload['peak_live_vectors']} mean {payload['mean_live_vectors']:.3g}",
    ]
    if gradients < TRANSIENT * workers:
        payload["note"] = (
            f"note: {gradients:,} gradients are fewer than {TRANSIENT} per worker: the throughput and "
            "staleness above describe the start-up, not the steady state (the workers start together "
            f"with nothing in flight); use --gradients {TRANSIENT * workers * 10:,} or more"
        )
        lines.append(payload["note"])
    if curve is not None:
        lines.append(f"  SGD on {problem} with {stepsize} steps: final f - f* = {payload['final_loss']:.4g}")
    if out is not None:
        lines.append(f"  wrote {', '.join(payload['files'])}")
    emit(payload, as_json, lines)


def _jobs(value: int) -> int:
    if value == 0:
        raise click.BadParameter("0 processes cannot run anything: give 1 or more, or -1 for one per core")
    return value


#: Gradients per worker below which a summary describes only the start-up transient.
TRANSIENT = 5


@click.command("sweep")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(min=-1),
    default=1,
    show_default=True,
    callback=lambda ctx, param, value: _jobs(value),
    help="Parallel processes (-1: one per core).",
)
@click.option("--dask-scheduler", "scheduler", default=None, help="Run the cells on this Dask scheduler.")
@out_option("Directory of cells and results; rerun to resume.", default=Path("sweep-out"))
@json_option
@cli_errors
def sweep_command(file: Path, jobs: int, scheduler: str | None, out: Path, as_json: bool) -> None:
    """Run a grid of simulations from FILE.toml; finished cells are kept, so a rerun resumes.

    \b
    FILE's tables (docs/simulator.md; examples/sweep.toml):
      [fixed]   options of asgd simulate: algo, workers, profile, cores, compute, read,
                publish, lock_policy, persistence
      [grid]    the same options, each a list: every combination is a cell
    """
    from staleness_sim.sweep import finished_cells, load_sweep, run_sweep

    sweep = load_sweep(file)
    total = len(sweep["cells"])
    done_before = finished_cells(sweep, out)
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
