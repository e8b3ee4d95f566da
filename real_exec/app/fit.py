"""``asgd fit``: Poisson and geometric models fitted to measured staleness."""

from __future__ import annotations

from pathlib import Path

import click

from real_exec.app.options import cli_errors, emit, json_option
from theory.fitting import fit_models
from theory.trace import read_staleness

__all__ = ["fit"]


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@cli_errors
def fit(file: Path, as_json: bool) -> None:
    """Fit Poisson and geometric models to the staleness in FILE (a Trace or a CSV of tau)."""
    if not file.exists():
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
    try:
        samples = read_staleness(file)
    except (KeyError, ValueError, OSError) as exc:
        raise click.BadParameter(f"cannot read staleness from {file}: {exc}", param_hint="FILE") from None
    results = fit_models(samples)
    payload = {
        "file": str(file),
        "samples": int(samples.size),
        "mean": float(samples.mean()),
        "var": float(samples.var()),
        "fits": [r.to_dict() for r in results],
    }
    lines = [
        f"{samples.size} staleness samples, mean {samples.mean():.4g}, var {samples.var():.4g}",
        "model      params                 TV      W1      G-test p",
    ]
    for r in results:
        par = ", ".join(f"{k}={v:.4g}" for k, v in r.params.items())
        lines.append(f"{r.model:<10} {par:<22} {r.tv:<7.4f} {r.w1:<7.4f} {r.p_value:.3g}")
    emit(payload, as_json, lines)
