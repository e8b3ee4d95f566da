"""The options that name an entry of a registry: ``--algo`` (the algorithm table),
``--stepsize`` (the rule registry), and ``--seed``; shared by the commands that run things."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["algo_option", "seed_option", "stepsize_option"]

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


def seed_option(help_text: str) -> Callable[[F], F]:
    """``--seed``: a non-negative integer, 0 by default."""
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help=help_text)
