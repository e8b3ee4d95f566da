"""What every ``asgd`` command shares: number types, ``--json``, one-line errors, rule options.

Nothing here imports more than click and the standard library, so ``asgd --help`` stays fast.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from real_exec.app.choices import threshold_option
from theory.stepsize import RuleOptions

__all__ = [
    "NON_NEGATIVE",
    "POSITIVE",
    "FiniteFloat",
    "apply_options",
    "cli_errors",
    "emit",
    "json_option",
    "out_option",
    "parse_pmf",
    "rule_kwargs",
    "rule_options",
]

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloat(click.ParamType):
    """A float that must be finite and inside ``[low, high]`` (``low`` open if asked)."""

    name = "float"

    def __init__(self, low: float = -math.inf, high: float = math.inf, low_open: bool = False):
        self.low, self.high, self.low_open = low, high, low_open

    def describe(self) -> str:
        if math.isfinite(self.high):
            return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return f"> {self.low:g}" if self.low_open else f">= {self.low:g}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number; accepted: {self.describe()}", param, ctx)
        below = x <= self.low if self.low_open else x < self.low
        if not math.isfinite(x) or below or x > self.high:
            self.fail(f"{value} is outside the accepted range {self.describe()}", param, ctx)
        return x


POSITIVE = FiniteFloat(0.0, low_open=True)
NON_NEGATIVE = FiniteFloat(0.0)


def cli_errors(func: F) -> F:
    """Turn ``ValueError``/``OSError`` from the library into a one-line usage error."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueError, OSError) as exc:
            raise click.UsageError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def stderr_progress(as_json: bool) -> Callable[[str], None] | None:
    """A one-line progress display on stderr (each message replaces the last), or ``None``
    when stderr is not a terminal or the output is JSON."""
    if as_json or not sys.stderr.isatty():
        return None

    def say(text: str) -> None:
        sys.stderr.write(f"\r\033[K{text} ...")
        sys.stderr.flush()

    return say


def json_option(func: F) -> F:
    """The ``--json`` flag every command has."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def emit(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    """Print ``payload`` as one JSON document, or ``lines`` as text."""
    if as_json:
        click.echo(json.dumps(_jsonable(payload)))
    else:
        click.echo("\n".join(lines))


def _jsonable(obj: Any) -> Any:
    """Replace numpy scalars by Python ones and non-finite floats by ``None``."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "shape", None) == ():  # a numpy scalar
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def rule_options(func: F) -> F:
    """``--pmf`` and the options of the step-size rules."""
    options = [
        click.option(
            "--pmf",
            "pmf",
            help="Staleness: poisson:LAMBDA | poisson:m=M | geometric:Q | geometric:m=M | "
            "pmf:P0,P1,... | empirical:FILE",
        ),
        click.option(
            "--amplitude",
            type=FiniteFloat(0.0, 1.0),
            default=RuleOptions.amplitude,
            show_default=True,
            help="TAIL-tau amplitude A in [0, 1].",
        ),
        click.option(
            "--K",
            "momentum",
            type=FiniteFloat(0.0, 0.999999),
            default=None,
            help="MindTheStep target momentum K in [0, 1) (default E[tau]/(1+E[tau])).",
        ),
        click.option(
            "--beta",
            type=NON_NEGATIVE,
            default=RuleOptions.beta,
            show_default=True,
            help="Exponential rule's beta >= 0.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Workers m: FLeet's tau_thr = m + 1 (default round(E[tau]) + 1); the workers bound's n.",
        ),
        threshold_option(
            "Ringmaster's threshold R: gradients with delay >= R are skipped (default: the workers; "
            "in asgd bound, ceil(sigma2/epsilon)).",
        ),
        click.option(
            "--cap", type=POSITIVE, default=RuleOptions.cap, show_default=True, help="MindTheStep cap > 0."
        ),
        click.option(
            "--cdf",
            type=click.Choice(["strict", "inclusive", "midpoint"]),
            default=RuleOptions.cdf,
            show_default=True,
            help="TAIL-tau CDF: P(<tau), P(<=tau) or the midpoint.",
        ),
    ]
    return apply_options(func, options)


def apply_options(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """Decorate ``func`` with ``options`` so that ``--help`` lists them in this order."""
    decorated: Any = func
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def parse_pmf(spec: str) -> Any:
    """``--pmf SPEC`` as a staleness model (:func:`theory.spec.parse_pmf_spec`)."""
    from theory.spec import parse_pmf_spec

    try:
        return parse_pmf_spec(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--pmf") from None


def rule_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    """The step-size rule options among a command's keyword arguments."""
    keys = ("amplitude", "momentum", "beta", "workers", "cap", "cdf", "threshold")
    return {k: kw[k] for k in keys}


def out_option(help_text: str, default: Path | None = None) -> Callable[[F], F]:
    """``--out DIR``."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        show_default=default is not None,
        help=help_text,
    )
