"""The options that name an entry of a registry: ``--algo`` (the algorithm table),
``--stepsize`` (the rule registry), ``--seed``, and the workers' slowdown (``--speeds``,
``--slow-mode``); shared by the commands that run things."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["Speeds", "algo_option", "seed_option", "speeds_options", "step_batch_option", "stepsize_option"]

F = TypeVar("F", bound=Callable[..., Any])


def algo_option(func: F) -> F:
    """``--algo``: one of the algorithm table's names (:data:`theory.algorithms.ALGORITHMS`)."""
    from theory.algorithms import ALGORITHMS

    return click.option(
        "--algo", type=click.Choice(ALGORITHMS), required=True, help="Synchronization mechanism."
    )(func)


def stepsize_option(func: F) -> F:
    """``--stepsize``: a rule of the registry (:data:`theory.stepsize.RULES`), constant by default."""
    from theory.stepsize import RULES

    return click.option(
        "--stepsize", type=click.Choice(list(RULES)), default="constant", show_default=True,
        help="Step-size rule s(tau).",
    )(func)  # fmt: skip


def step_batch_option(func: F) -> F:
    """``--step-batch S``: Rennala SGD's gradients per step."""
    return click.option(
        "--step-batch", type=click.IntRange(min=1), default=None,
        help="Rennala SGD: the gradients at the current point averaged into one step (default: the workers).",
    )(func)  # fmt: skip


def threshold_option(help_text: str) -> Callable[[F], F]:
    """``--R``: Ringmaster ASGD's threshold, an integer >= 1 (the ``threshold`` argument)."""
    return click.option("--R", "threshold", type=click.IntRange(min=1), default=None, help=help_text)


def seed_option(help_text: str) -> Callable[[F], F]:
    """``--seed``: a non-negative integer, 0 by default."""
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help=help_text)


class Speeds(click.ParamType):
    """A comma-separated list of slowdown factors >= 1 (``1,4``, ``1,1.5``), as a tuple."""

    name = "speeds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from real_exec.executor.config import check_speeds

        if isinstance(value, tuple):
            return value
        try:
            return check_speeds(float(v) for v in str(value).split(","))
        except ValueError as exc:
            bad = "not a list of numbers" if "could not convert" in str(exc) else str(exc)
            self.fail(f"{value!r}: {bad} (e.g. 1,4)", param, ctx)


def speeds_options(func: F) -> F:
    """``--speeds`` (slowdown factors cycled over the threads) and ``--slow-mode``."""
    from real_exec.executor.config import SLOW_MODES

    func = click.option(
        "--slow-mode", type=click.Choice(SLOW_MODES), default="spin", show_default=True,
        help="Where a slow worker's extra time goes: spin computes on its core (a slower core), "
        "sleep waits off the core (a worker waiting on a device or a network).",
    )(func)  # fmt: skip
    return click.option(
        "--speeds", type=Speeds(), default="1", show_default=True,
        help="Slowdown factors >= 1, cycled over the threads: with 1,4 every gradient of "
        "threads 1, 3, ... takes 4x as long.",
    )(func)  # fmt: skip
