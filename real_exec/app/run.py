"""The ``asgd run`` command: a real multithreaded run on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from real_exec.app.options import POSITIVE, cli_errors, emit, json_option, out_option
from real_exec.config import ALGORITHMS, RunConfig
from real_exec.problems import PROBLEMS, make_problem
from real_exec.runner import WorkerError, run
from theory.spec import RULES

__all__ = ["run_command"]


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
@click.option(
    "--gradients",
    "--updates",
    "gradients",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after N gradients.",
)
@click.option("--seconds", type=POSITIVE, default=None, help="Stop after S seconds.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--no-check", is_flag=True, help="Skip the lost-update bookkeeping (one extra axpy per update)."
)
@out_option("Write the Trace, the loss curve and plots here.")
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
    gradients: int | None,
    seconds: float | None,
    seed: int,
    no_check: bool,
    out: Path | None,
    as_json: bool,
) -> int:
    """Run asynchronous SGD for real with THREADS threads and measure its staleness."""
    if (gradients is None) == (seconds is None):
        raise click.UsageError("give exactly one of --gradients N (alias --updates) and --seconds S")
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
        gradients,
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
        return 1
    payload: dict[str, Any] = result.summary()
    if out is not None:
        payload["files"] = [str(f) for f in result.save(out)]
    lines = [
        f"{algo}, {threads} threads, {problem}: {payload['updates']} updates in {payload['wall_time']:.2f} s "
        f"({payload['throughput']:,.0f}/s)",
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
        return 130
    return 0
