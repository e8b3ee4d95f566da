"""``asgd experiment``: a grid of real runs to a target, repeated, with statistics and a report."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from real_exec.app.options import cli_errors, emit, json_option, out_option
from real_exec.study.experiment.execute import pending, run_experiment
from real_exec.study.experiment.spec import Experiment, load_experiment
from real_exec.study.experiment.tables import runs_table, summary_table

__all__ = ["curves_figure", "describe", "experiment_command", "time_to_target_figure", "write_report"]


@click.command("experiment")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@out_option("Directory of runs, tables and report; rerun to resume.", default=Path("experiment-out"))
@click.option(
    "--dask-scheduler", "scheduler", default=None, help="Run each run as a task on this Dask cluster."
)
@json_option
@cli_errors
def experiment_command(file: Path, out: Path, scheduler: str | None, as_json: bool) -> int | None:
    """Run the grid of FILE.toml to its target, repeated; finished runs are kept, so a rerun resumes.

    \b
    FILE's tables (docs/experiments.md; examples/*.toml):
      [run]     options of asgd run: algo, threads, eta, stepsize, problem or model and
                dataset, batch, hidden, momentum, persistence, mode = "run" | "predict", ...
      [grid]    the same options, each a list: every combination is a cell
      [target]  test_accuracy and/or loss_fraction; check_every (seconds)
      [budget]  seconds: a run that has not reached the target by then is censored
      [repeat]  count, seed, baseline = { algo = "lock" } (for speed-ups)
    """
    exp = load_experiment(file)
    todo = len(pending(exp, out))
    total = len(exp.runs)
    if sys.stderr.isatty() and todo:
        with click.progressbar(length=todo, label="experiment", file=sys.stderr) as bar:

            def report(spec: Any, record: dict[str, Any] | None) -> None:
                if record is None:
                    bar.label = f"experiment: {spec.label}, repetition {spec.repetition + 1}"
                else:
                    bar.update(1)

            records = _interruptible(exp, out, scheduler, report)
    else:
        records = _interruptible(exp, out, scheduler, None)
    if records is None:
        done = len(exp.runs) - len(pending(exp, out))
        click.echo(
            f"asgd: interrupted; {done} of {total} runs are stored in {out} (the interrupted one was "
            "discarded); rerun the same command to resume",
            err=True,
        )
        return 130
    runs = runs_table(exp, records)
    summary = summary_table(exp, runs)
    index = write_report(out, exp, runs, summary, records)
    payload = {
        "runs": total,
        "resumed_from": total - todo,
        "summary": summary.to_dict(orient="records"),
        "files": [str(out / "runs.parquet"), str(out / "summary.csv"), str(index)],
    }
    from real_exec.app.report import format_number

    shown = summary.drop(columns=["cell"]).map(format_number)
    lines = [f"{total} runs ({total - todo} already done) -> {out}", shown.to_string(index=False)]
    emit(payload, as_json, lines)
    return None


def _interruptible(exp: Experiment, out: Path, scheduler: str | None, report: Any) -> Any:
    """The stored runs, or ``None`` after Ctrl-C."""
    try:
        return run_experiment(exp, out, scheduler, on_run=report)
    except KeyboardInterrupt:
        return None


def _median_curves(ax: Any, exp: Experiment, records: dict[str, dict[str, Any]], column: str) -> None:
    """Median of each cell's runs over a common time grid, with the interquartile band."""
    from real_exec.executor.plots import plot_band

    for cell, label in enumerate(exp.cell_labels()):
        curves = [rec["curve"] for spec in exp.runs if spec.cell == cell and (rec := records.get(spec.key))]
        plot_band(ax, curves, column, label, exp.budget)
    if column == "accuracy" and exp.target.accuracy is not None:
        ax.axhline(exp.target.accuracy, color="0.3", linestyle="--", linewidth=0.8, label="target")
    ax.set(xlabel="wall time (s)", ylabel=column, title=f"{column}: median over runs, quartile band")
    ax.legend(fontsize=7)


def conclusion(exp: Experiment, summary: pd.DataFrame) -> str:
    """The experiment's finding in a sentence: the cell with the shortest Kaplan-Meier median
    time to target, and its speed-up over the baseline cell."""
    finite = summary[np.isfinite(summary["median_time_to_target"].astype(float))]
    if finite.empty:
        return "No cell reached the target in half of its runs within the budget."
    best = finite.sort_values("median_time_to_target").iloc[0]
    text = (
        f"Fastest to the target: {best['cell']}, median {best['median_time_to_target']:.3g} s "
        f"({best['reached_fraction']:.0%} of its runs reached it"
    )
    if "speedup" in best and exp.baseline is not None and np.isfinite(best["speedup"]):
        text += f"; {best['speedup']:.2f}x the baseline {exp.cell_labels()[exp.baseline]}"
    return text + ")."


def describe(exp: Experiment) -> str:
    """The experiment in one sentence: cells, repetitions, target, budget."""
    parts = []
    if exp.target.accuracy is not None:
        parts.append(f"test accuracy >= {exp.target.accuracy:g}")
    if exp.target.loss_fraction is not None:
        parts.append(f"training loss <= {exp.target.loss_fraction:g} x initial")
    return (
        f"{len(exp.cells)} cells x {exp.repetitions} repetitions; target: {' or '.join(parts)}, checked "
        f"every {exp.check_every:g} s; budget {exp.budget:g} s (runs that miss it are censored there)."
    )


def time_to_target_figure(exp: Experiment, runs: pd.DataFrame, summary: pd.DataFrame | None = None) -> Any:
    """Box plots of the time to target per cell (the runs that reached it), as in the papers;
    with ``summary``, each cell's Kaplan-Meier median (every run, those that missed the
    target censored at the budget) as a diamond: where runs missed, it lies above the box's."""
    from theory.plots import new_figure

    fig = new_figure(9.0, 3.8)
    ax = fig.add_subplot()
    labels = exp.cell_labels()
    hit = runs["reached"].astype(bool)
    data = [runs.loc[(runs["cell"] == i) & hit, "time_to_target"].to_numpy() for i in range(len(labels))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cell without a reached run gives an empty box
        ax.boxplot([d if d.size else [np.nan] for d in data], tick_labels=labels)
    title = "Time to target per cell: boxes, the runs that reached it"
    if summary is not None:
        medians = summary["median_time_to_target"].astype(float).to_numpy()
        shown = np.isfinite(medians)
        positions = np.arange(1, len(labels) + 1)
        ax.plot(positions[shown], medians[shown], "D", color="C3", label="Kaplan-Meier median (all runs)")
        ax.legend(fontsize=7)
        title += "; diamonds, every run"
    ax.set(ylabel="time to target (s)", title=title)
    ax.tick_params(axis="x", labelrotation=20, labelsize=7)
    return fig


def curves_figure(exp: Experiment, records: dict[str, dict[str, Any]]) -> Any:
    """Median loss and accuracy over wall time per cell, with the interquartile band."""
    from theory.plots import new_figure

    fig = new_figure(10.0, 3.8)
    ax1, ax2 = fig.subplots(1, 2)
    _median_curves(ax1, exp, records, "loss")
    ax1.set_yscale("log")
    _median_curves(ax2, exp, records, "accuracy")
    return fig


def write_report(
    out: Path, exp: Experiment, runs: pd.DataFrame, summary: pd.DataFrame, records: dict[str, dict[str, Any]]
) -> Path:
    """``runs.parquet``, ``summary.csv`` and the report (``index.html``, ``index.md``)."""
    from real_exec.app.report import Report
    from theory.trace import atomic_write

    atomic_write(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    atomic_write(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    report = Report(out, "asgd experiment")
    report.lead(conclusion(exp, summary))
    workload = ", ".join(
        f"{k} {exp.cells[0][k]}"
        for k in ("problem", "model", "dataset", "threads")
        if exp.cells[0][k] is not None and k not in exp.grid_keys
    )
    report.text(f"{workload}. {describe(exp)}" if workload else describe(exp))
    if "data_sha256" in runs and runs["data_sha256"].notna().any():
        sources = runs.dropna(subset=["data_sha256"]).drop_duplicates("data_sha256")
        read = [
            f"{d} (SHA-256 {str(h)[:16]}...)"
            for d, h in zip(sources["data_dir"], sources["data_sha256"], strict=True)
        ]
        report.text("Data read: " + "; ".join(read))
    report.figure("time_to_target", time_to_target_figure(exp, runs, summary), "Time to target per cell")
    report.figure("curves", curves_figure(exp, records), "Loss and accuracy over wall time per cell")
    caption = "Per cell: Kaplan-Meier median time to target, speed-up over the baseline"
    report.table("summary", summary, caption)
    return report.write()
