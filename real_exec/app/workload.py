"""The options that choose what a real run trains, shared by ``asgd run`` and ``asgd validate``.

Either ``--problem NAME`` (the small problems, and the aliases ``digits-mlp`` = ``--model mlp
--dataset digits`` and ``mlp-784`` = ``--model mlp --dataset synthetic``) or ``--model M
--dataset D`` (a missing one of the two defaults to ``mlp`` / ``fashion-mnist``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from real_exec.app.options import apply_options
from real_exec.executor.data.datasets import DATASETS
from real_exec.executor.models.networks import INITS, MODELS
from real_exec.executor.problems import PROBLEMS, Problem, problem_from_options

__all__ = ["build_problem", "workload_options"]

F = TypeVar("F", bound=Callable[..., Any])


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


def workload_options(func: F) -> F:
    """``--problem``, ``--model``, ``--dataset``, ``--data-dir``, ``--batch``, ``--hidden``,
    ``--dtype`` and ``--init``."""
    options = [
        click.option(
            "--problem",
            type=click.Choice(PROBLEMS),
            default=None,
            help="A built-in problem; or give --model and/or --dataset (one of the two or this is needed).",
        ),
        click.option(
            "--model", type=click.Choice(MODELS), default=None, help="A network (with --dataset alone: mlp)."
        ),
        click.option(
            "--dataset",
            type=click.Choice(DATASETS),
            default=None,
            help="Its data (with --model alone: fashion-mnist).",
        ),
        click.option(
            "--data-dir",
            default=None,
            help="Read the data set from this folder only (else $ASGD_DATA_DIR, the cache, "
            "Debian's folder, or fetched: docs/real_exec.md).",
        ),
        click.option(
            "--batch",
            type=click.IntRange(min=1),
            default=32,
            show_default=True,
            help="Minibatch size per gradient.",
        ),
        click.option(
            "--hidden", default="128", show_default=True, help="MLP hidden layers, e.g. 128,128,128."
        ),
        click.option(
            "--dtype",
            type=click.Choice(["float32", "float64"]),
            default="float64",
            show_default=True,
            help="Parameters' and data's floats.",
        ),
        click.option(
            "--init",
            type=click.Choice(INITS),
            default="normal",
            show_default=True,
            help="Weights: N(0, 0.01^2) as in the papers' code, He or Glorot.",
        ),
    ]
    return apply_options(func, options)


def build_problem(
    *,
    problem: str | None,
    model: str | None,
    dataset: str | None,
    data_dir: str | None,
    batch: int,
    hidden: str,
    dtype: str,
    init: str,
    seed: int,
) -> Problem:
    """The problem the options of :func:`workload_options` describe, as keywords
    (:func:`real_exec.executor.problems.problem_from_options`)."""
    if problem is not None and (model is not None or dataset is not None):
        raise click.UsageError("give --problem NAME or --model M --dataset D, not both")
    if problem is None and model is None and dataset is None:
        raise click.UsageError("give --problem NAME or --model M --dataset D (see --help)")
    return problem_from_options(
        problem,
        model,
        dataset,
        seed=seed,
        batch=batch,
        hidden=_hidden(hidden),
        dtype=dtype,
        init=init,
        data_dir=data_dir,
    )
