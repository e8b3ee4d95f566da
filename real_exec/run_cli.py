"""The ``asgd run`` command: a real multithreaded run on this machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from real_exec.context import ALGORITHMS, RunConfig
from real_exec.problems import PROBLEMS, make_problem
from real_exec.runner import RunResult, WorkerError, run
from theory.cli import POSITIVE, cli_errors, emit, json_option
from theory.spec import RULES

__all__ = ["run_command", "write_run"]


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(h) for h in text.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} must be comma-separated integers, e.g. 128,128", param_hint="--hidden"
        ) from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("layer sizes must be >= 1", param_hint="--hidden")
    return sizes


def write_run(out: Path, result: RunResult) -> list[str]:
    """Write the Trace, the loss/accuracy curve (Parquet + JSON) and plots to ``out``."""
    import json

    from staleness_sim.plots import plot_staleness
    from theory.plots import new_figure
    from theory.trace import atomic_write, atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    files = [str(p) for p in result.trace.save(out / "trace")]
    curve = result.curve
    atomic_write(out / "curve.parquet", lambda tmp: curve.to_parquet(tmp, index=False))
    text = json.dumps({"columns": list(curve.columns), "final": result.final}, indent=2)
    atomic_write_text(out / "curve.json", text)
    fig = new_figure(9.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(curve["time"], curve["loss"], marker=".")
    ax1.set(xlabel="wall time (s)", ylabel="loss", yscale="log", title="loss")
    if "accuracy" in curve:
        twin = ax1.twinx()
        twin.plot(curve["time"], curve["accuracy"], color="tab:orange", marker=".")
        twin.set_ylabel("test accuracy")
    plot_staleness(ax2, result.trace)
    atomic_write(out / "run.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    return [*files, str(out / "curve.parquet"), str(out / "curve.json"), str(out / "run.png")]


@click.command("run")
@click.option("--algo", type=click.Choice(ALGORITHMS), required=True)
@click.option("--threads", type=click.IntRange(min=1), required=True, help="Worker threads.")
@click.option("--problem", type=click.Choice(PROBLEMS), required=True)
@click.option("--batch", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--hidden", default="128", show_default=True, help="MLP hidden layers, e.g. 128,128,128.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True)
@click.option("--eta", type=POSITIVE, default=None, help="eta0 (default: 0.05, 0.01 for least squares).")
@click.option("--stepsize", type=click.Choice(RULES), default="constant", show_default=True)
@click.option("--persistence", type=click.IntRange(min=1), default=None, help="Leashed-SGD CAS attempts.")
@click.option("--updates", type=click.IntRange(min=1), default=None, help="Stop after N gradients.")
@click.option("--seconds", type=POSITIVE, default=None, help="Stop after S seconds.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--no-check", is_flag=True, help="Skip the lost-update bookkeeping (one extra axpy per update)."
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@json_option
@cli_errors
def run_command(
    algo: str,
    threads: int,
    problem: str,
    batch: int,
    hidden: str,
    dtype: str,
    eta: float | None,
    stepsize: str,
    persistence: int | None,
    updates: int | None,
    seconds: float | None,
    seed: int,
    no_check: bool,
    out: Path | None,
    as_json: bool,
) -> None:
    """Run asynchronous SGD for real with THREADS threads and measure its staleness."""
    if (updates is None) == (seconds is None):
        raise click.UsageError("give exactly one of --updates N and --seconds S")
    if persistence is not None and algo != "leashed":
        raise click.BadParameter("only Leashed-SGD has a persistence bound", param_hint="--persistence")
    prob = make_problem(
        problem, np.random.default_rng(seed), batch=batch, hidden=_hidden(hidden), dtype=dtype
    )
    default_eta = 0.01 if problem == "lstsq" else 0.05
    config = RunConfig(
        algo,
        threads,
        eta or default_eta,
        updates,
        seconds,
        stepsize,
        persistence,
        seed,
        check_updates=not no_check,
    )
    try:
        result = run(config, prob)
    except WorkerError as exc:
        click.echo(f"asgd: error: {exc}", err=True)
        raise SystemExit(1) from None
    payload: dict[str, Any] = result.summary()
    if out is not None:
        payload["files"] = write_run(out, result)
    lines = [
        f"{algo}, {threads} threads, {problem}: {payload['updates']} updates in {payload['wall_time']:.2f} s "
        f"({payload['updates_per_s']:.0f}/s)",
        f"  staleness mean {payload['tau_mean']:.3g}; CAS failures {payload['cas_failures']}, dropped "
        f"{payload['dropped']}, peak live vectors {payload['peak_live_vectors']}",
        f"  final loss {payload['final_loss']:.4g}"
        + (f", test accuracy {payload['test_accuracy']:.3f}" if "test_accuracy" in payload else ""),
    ]
    if payload["lost_update_norm"] is not None:
        lines.append(f"  lost-update norm {payload['lost_update_norm']:.3g}")
    emit(payload, as_json, lines)
    if result.interrupted:
        click.echo("asgd: interrupted; the partial run was kept", err=True)
        sys.exit(130)
