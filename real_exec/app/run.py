"""The ``asgd run`` command: a real multithreaded run on this machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from real_exec.app.choices import (
    algo_option,
    seed_option,
    speeds_options,
    step_batch_option,
    stepsize_option,
    threshold_option,
)
from real_exec.app.options import POSITIVE, FiniteFloat, cli_errors, emit, json_option, out_option
from real_exec.app.workload import build_problem, workload_options
from real_exec.executor.config import RunConfig
from real_exec.executor.monitor import DIVERGED
from real_exec.executor.runner import WorkerError, run

__all__ = ["run_command"]


@click.command("run")
@algo_option
@click.option("--threads", type=click.IntRange(min=1), required=True, help="Worker threads.")
@workload_options
@click.option("--eta", type=POSITIVE, default=None, help="eta0 (default: 0.05, 0.01 for least squares).")
@click.option(
    "--momentum",
    type=FiniteFloat(0.0, 0.999999),
    default=0.0,
    show_default=True,
    help="Heavy-ball momentum beta in [0, 1); each worker keeps its own velocity.",
)
@stepsize_option
@click.option(
    "--amplitude", type=FiniteFloat(0.0, 1.0), default=1.0, show_default=True, help="TAIL-tau's amplitude A."
)
@click.option(
    "--warmup",
    type=click.IntRange(min=1),
    default=None,
    help="Updates whose staleness fixes TAIL-tau/MindTheStep (default 5 x threads, the authors').",
)
@click.option(
    "--warmup-skip",
    type=click.IntRange(min=0),
    default=None,
    help="Updates skipped before the warm-up sample (default 10 x threads, the authors').",
)
@click.option("--persistence", type=click.IntRange(min=1), default=None, help="Leashed-SGD CAS attempts.")
@step_batch_option
@threshold_option(
    "With --stepsize ringmaster: lock-based SGD throws away gradients whose delay reached R, the "
    "others apply them with step 0 (default: the threads)."
)
@click.option(
    "--gradients",
    "--updates",
    "gradients",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after N gradients.",
)
@click.option("--seconds", type=POSITIVE, default=None, help="Stop after S seconds.")
@click.option("--epochs", type=POSITIVE, default=None, help="Stop after E passes over the training set.")
@seed_option("Minibatches and initial parameters.")
@speeds_options
@click.option(
    "--no-check", is_flag=True, help="Skip the lost-update bookkeeping (one extra axpy per update)."
)
@out_option("Write the Trace, the loss curve and plots here.")
@json_option
@cli_errors
def run_command(
    algo: str,
    threads: int,
    eta: float | None,
    momentum: float,
    stepsize: str,
    amplitude: float,
    warmup: int | None,
    warmup_skip: int | None,
    persistence: int | None,
    step_batch: int | None,
    threshold: int | None,
    gradients: int | None,
    seconds: float | None,
    epochs: float | None,
    seed: int,
    speeds: tuple[float, ...],
    slow_mode: str,
    no_check: bool,
    out: Path | None,
    as_json: bool,
    **workload: Any,
) -> int:
    """Run asynchronous SGD for real with THREADS threads and measure its staleness."""
    if sum(v is not None for v in (gradients, seconds, epochs)) != 1:
        raise click.UsageError(
            "give exactly one of --gradients N (alias --updates), --seconds S and --epochs E"
        )
    if persistence is not None and algo != "leashed":
        raise click.BadParameter("only Leashed-SGD has a persistence bound", param_hint="--persistence")
    if threshold is not None and stepsize != "ringmaster":
        raise click.BadParameter(
            "R is the ringmaster rule's threshold (--stepsize ringmaster)", param_hint="--R"
        )
    if step_batch is not None and algo != "rennala":
        raise click.BadParameter("only Rennala SGD has a step batch", param_hint="--step-batch")
    prob = build_problem(seed=seed, **workload)
    default_eta = 0.01 if workload["problem"] == "lstsq" else 0.05
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
        epochs=epochs,
        momentum=momentum,
        warmup=warmup,
        warmup_skip=warmup_skip,
        amplitude=amplitude,
        speeds=speeds,
        slow_mode=slow_mode,
        step_batch=step_batch,
        threshold=threshold,
    )
    try:
        result = run(config, prob)
    except WorkerError as exc:
        click.echo(f"asgd: error: {exc}", err=True)
        if os.environ.get("ASGD_TRACEBACK"):
            click.echo(exc.traceback, err=True)
        return 1
    payload: dict[str, Any] = result.summary()
    if out is not None:
        payload["files"] = [str(f) for f in result.save(out)]
    lines = _lines(payload, f"{algo}, {threads} threads, {prob.name}")
    emit(payload, as_json, lines)
    if result.interrupted:
        click.echo("asgd: interrupted; the partial run was kept", err=True)
        return 130
    return 0


def _lines(payload: dict[str, Any], title: str) -> list[str]:
    """The text output of a run's summary ``payload``."""
    lines = [
        f"{title}: {payload['updates']:,} updates in "
        f"{payload['wall_time']:.2f} s ({payload['throughput']:,.0f}/s)",
        f"  staleness mean {payload['tau_mean']:.3g}; CAS failures {payload['cas_failures']}, dropped "
        f"{payload['dropped']}, peak live vectors {payload['peak_live_vectors']}",
        f"  final loss {payload['final_loss']:.4g}"
        + (f", test accuracy {payload['test_accuracy']:.3f}" if "test_accuracy" in payload else "")
        + (f", test loss {payload['test_loss']:.4g}" if "test_loss" in payload else ""),
    ]
    if payload["diverged"]:
        lines.append(
            f"  diverged: the loss became NaN, infinite or over {DIVERGED:g}x its initial value; the run "
            f"ended after {payload['wall_time']:.2f} s (a smaller --eta may converge)"
        )
    if payload.get("epoch_loss"):
        losses = ", ".join(f"{v:.3g}" for v in payload["epoch_loss"][:10])
        more = " ..." if len(payload["epoch_loss"]) > 10 else ""
        lines.append(f"  training loss after each epoch: {losses}{more}")
    if payload["lost_update_norm"] is not None:
        lines.append(
            f"  lost-update norm {payload['lost_update_norm']:.3g}, "
            f"share of the applied steps lost {_share(payload['lost_update_share']):.3%}"
        )
    return lines


def _share(value: float) -> float:
    """A share as printed: rounding noise around 0 (|x| < 5e-6) shown as 0, never "-0.000%"."""
    return 0.0 if abs(value) < 5e-6 else value
