"""``asgd predict``: forecast time to target from a calibrated simulation and a replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from real_exec.app.choices import algo_option, seed_option, speeds_options, stepsize_option
from real_exec.app.options import (
    POSITIVE,
    FiniteFloat,
    cli_errors,
    emit,
    json_option,
    out_option,
    stderr_progress,
)
from real_exec.app.report import format_p
from real_exec.app.workload import build_problem, workload_options

__all__ = ["predict_command"]


#: How the replay of HOGWILD! approximates it: no torn reads; lost updates from a probe.
HOGWILD_APPROXIMATION = (
    "approximated by consistent stale reads (real threads also read half-written vectors); "
    "an update whose write overlaps another's loses a stretch of lost_on_overlap of its "
    "coordinates, measured by a probe"
)


@click.command("predict")
@algo_option
@click.option("--threads", type=click.IntRange(min=1), required=True, help="Workers to predict for.")
@workload_options
@click.option("--eta", type=POSITIVE, default=0.05, show_default=True, help="eta0.")
@stepsize_option
@click.option("--profile", "profile_src", default=None, help="Machine: a shipped profile name or TOML file.")
@click.option(
    "--calibrate-seconds",
    type=POSITIVE,
    default=3.0,
    show_default=True,
    help="The real run calibrated on here.",
)
@click.option(
    "--calibrate-threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads of the calibration run (default M).",
)
@click.option(
    "--contention-seconds",
    type=FiniteFloat(0.0),
    default=1.0,
    show_default=True,
    help="Probe of the gradient's slowdown with M busy cores, when they are not the calibration's (0: none).",
)
@click.option(
    "--lost-update-seconds",
    type=FiniteFloat(0.0),
    default=None,
    help="HOGWILD!: probe of the updates lost when writes meet (default the calibration's seconds; 0: none).",
)
@click.option(
    "--target-accuracy",
    type=FiniteFloat(0.0, 1.0, low_open=True),
    default=None,
    help="Target: this test accuracy (confirmed on the whole test set).",
)
@click.option(
    "--target-loss-fraction",
    type=FiniteFloat(0.0, 1.0, low_open=True),
    default=None,
    help="Target: the training loss at most this fraction of its initial value.",
)
@click.option(
    "--budget-seconds",
    type=POSITIVE,
    default=30.0,
    show_default=True,
    help="Each repetition stops here if it has not reached the target (censored).",
)
@click.option("--check-every", type=POSITIVE, default=None, help="Seconds between target checks (budget/50).")
@click.option(
    "--reps",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Repetitions (schedules, minibatches).",
)
@click.option("--measure", is_flag=True, help="Also run the configuration for real here, --reps times.")
@speeds_options
@seed_option("Seeds of the repetitions.")
@out_option("Write the per-repetition tables, the curves figure and a report page here.")
@json_option
@cli_errors
def predict_command(
    algo: str,
    threads: int,
    eta: float,
    stepsize: str,
    profile_src: str | None,
    calibrate_seconds: float,
    calibrate_threads: int | None,
    contention_seconds: float,
    lost_update_seconds: float | None,
    target_accuracy: float | None,
    target_loss_fraction: float | None,
    budget_seconds: float,
    check_every: float | None,
    reps: int,
    measure: bool,
    speeds: tuple[float, ...],
    slow_mode: str,
    seed: int,
    out: Path | None,
    as_json: bool,
    **workload: Any,
) -> None:
    """Predict the time ALGO with THREADS threads takes to a target: calibrate timing here,
    simulate the schedule, replay the training in it (HOGWILD!'s inconsistent reads are
    approximated by consistent stale ones).

    With --speeds the calibration runs this machine as it is; only the simulated schedule
    gets the slow workers, and --measure then runs them for real."""
    from real_exec.executor.monitor import Target
    from real_exec.study.predict.forecast import Trial, calibrate_here, check_interval, forecast
    from real_exec.study.predict.forecast import measure as measure_here
    from staleness_sim.profile import load_profile

    target = Target(target_accuracy, target_loss_fraction)
    problem = build_problem(seed=seed, **workload)
    machine = load_profile(profile_src) if profile_src is not None else None
    cal_threads = calibrate_threads or threads
    checks = check_interval(check_every, budget_seconds)
    say = stderr_progress(as_json)
    if say is not None:
        say(f"calibrating here: a real run of {calibrate_seconds:g} s and the probes")
    profile = calibrate_here(
        problem,
        algo,
        cal_threads,
        eta=eta,
        seconds=calibrate_seconds,
        machine=machine,
        predict_threads=threads,
        contention_seconds=contention_seconds,
        check_every=checks,
        lost_update_seconds=lost_update_seconds,
    )
    trial = Trial(
        algo, threads, eta, target, budget_seconds, stepsize, reps, seed, check_every, speeds, slow_mode
    )
    result = forecast(problem, trial, profile, progress=say)
    payload = _forecast_payload(result, profile, trial, cal_threads)
    lines = [
        _heading(trial, problem.name, cal_threads, profile_src),
        *_calibration_notes(profile, threads, cal_threads, profile_src is None),
        *_placement_note(trial, profile.cores),
        *_forecast_lines(result, algo, payload["replay_seconds"]),
    ]
    measured_curves: list[dict[str, Any]] = []
    if measure:
        here = measure_here(problem, trial, progress=say)
        measured_curves = here.curves
        comparison, line = _compare(result, here)
        payload |= comparison
        lines.append(line)
    if out is not None:
        title = f"asgd predict: {algo}, {threads} threads, {problem.name}"
        index = write_report(out, title, lines, payload, result.curves, measured_curves, budget_seconds)
        payload["report"] = str(index)
        lines.append(f"  wrote {index}")
    emit(payload, as_json, lines)


def _forecast_payload(result: Any, profile: Any, trial: Any, cal_threads: int) -> dict[str, Any]:
    """The JSON of a forecast: its outcomes, the replay's seconds, the profile simulated (the
    calibrated one, with the trial's slow workers) and how it was calibrated."""
    return {
        "predicted": {**result.summary, "per_rep": result.per_rep},
        "replay_seconds": sum(r["replay_seconds"] for r in result.per_rep),
        "profile": (result.profile if result.profile is not None else profile).to_dict(),
        "calibrated_on_threads": cal_threads,
        "speeds": list(trial.speeds),
        "slow_mode": trial.slow_mode,
        "hogwild_reads": HOGWILD_APPROXIMATION if trial.algo == "hogwild" else "exact",
    }


def _heading(trial: Any, problem: str, cal_threads: int, profile_src: str | None) -> str:
    """The first line: what is predicted, where it was calibrated, the machine and slow workers."""
    slowed = max(trial.speeds) > 1.0
    return (
        f"{trial.algo}, {trial.threads} threads, {problem}, calibrated on {cal_threads} thread(s) here"
        + (f", machine {profile_src}" if profile_src else "")
        + (
            f", workers slowed x{','.join(f'{s:g}' for s in trial.speeds)} (not in the calibration)"
            if slowed
            else ""
        )
    )


def _forecast_lines(result: Any, algo: str, replay_seconds: float) -> list[str]:
    """The forecast's summary, and for HOGWILD! what its replay approximates."""
    s = result.summary
    lines = [
        f"  predicted median time to target {s['time_to_target_median']:.3g} s "
        f"(quartiles {s['q25']:.3g}-{s['q75']:.3g}), reached in "
        f"{s['reached_fraction']:.0%} of {len(result.per_rep)}; replay took {replay_seconds:.1f} s"
    ]
    if algo == "hogwild":
        lines.append(f"  HOGWILD!: {HOGWILD_APPROXIMATION} (docs/prediction.md)")
        lines.append(
            f"  lost updates: {result.profile.lost_on_overlap:.1%} of an update's coordinates when its "
            "write overlaps another's (lost_on_overlap, from the probe)"
        )
    return lines


def _compare(predicted: Any, measured: Any) -> tuple[dict[str, Any], str]:
    """The forecast's outcomes against the measured ones (both :class:`Outcomes`): the
    payload's ``measured``, ``ratio``, ``ratio_interval`` and ``logrank_p``, and its line."""
    from theory.survival import ratio_interval, same_distribution_pvalue

    budget, summary = measured.budget, measured.summary
    ratio = predicted.summary["time_to_target_median"] / summary["time_to_target_median"]
    p_value = same_distribution_pvalue(predicted.per_rep, measured.per_rep, budget)
    low, high = ratio_interval(predicted.per_rep, measured.per_rep, budget)
    line = (
        f"  measured median {summary['time_to_target_median']:.3g} s "
        f"(quartiles {summary['q25']:.3g}-{summary['q75']:.3g}); predicted / measured {ratio:.3f} "
        f"(95% bootstrap interval {low:.2f}-{high:.2f}); "
        f"log-rank test of one distribution: p {format_p(p_value)}"
    )
    payload = {
        "measured": {**summary, "per_rep": measured.per_rep},
        "ratio": ratio,
        "ratio_interval": [low, high],
        "logrank_p": p_value,
    }
    return payload, line


def _placement_note(trial: Any, cores: int | None) -> list[str]:
    """With slow workers on fewer cores than threads: what the simulated placement misses."""
    from real_exec.study.validate import fixed_placement

    note = fixed_placement(trial.threads, cores, trial.speeds)
    return [] if note is None else [f"  note: {note} (docs/validation.md, slow workers on time-shared cores)"]


def _calibration_notes(profile: Any, threads: int, cal_threads: int, here: bool) -> list[str]:
    """The gradient- and publish-time factors the prediction applies, when any; here, a caution
    when the threads predicted keep more cores busy than the calibration did."""
    factor = profile.contention_factor(threads)
    publish = profile.publish_contention_factor(threads)
    busy = min(threads, profile.cores or threads)
    probed = here and cal_threads < busy  # the probes stood in for what the calibration missed
    lines = []
    if factor != 1.0:
        main = ", and the main thread's evaluations on the cores" if probed else ""
        lines.append(
            f"  gradient time x{factor:.3f} with {threads} threads against {cal_threads} "
            f"(contention probe{main})"
        )
    if publish != 1.0:
        lines.append(
            f"  publish time x{publish:.3f} with {threads} threads against {cal_threads} (publish probe)"
        )
    if probed:
        if profile.lock_handoff > 0:
            lines.append(f"  the lock's hand-off {profile.lock_handoff * 1e6:.1f} us")
        lines.append(
            f"  note: calibrated with {cal_threads} busy core(s), predicted with {busy}: what threads do "
            "to each other beyond the probes (gradients, publishes, the lock's hand-off, the main "
            "thread's share) is missing, so the rate may be optimistic (docs/prediction.md, "
            f'"Calibrated on fewer threads"); --calibrate-threads {busy} measures it'
        )
    return lines


def write_report(
    out: Path,
    title: str,
    lines: list[str],
    payload: dict[str, Any],
    predicted: list[dict[str, Any]],
    measured: list[dict[str, Any]],
    budget: float,
) -> Path:
    """``predicted.parquet`` (and ``measured.parquet``), the curves figure and ``index.html``."""
    import pandas as pd

    from real_exec.app.report import Report
    from real_exec.executor.plots import plot_band
    from theory.plots import new_figure

    report = Report(out, title)
    report.text(" ".join(line.strip() for line in lines))
    tables = {"predicted": payload["predicted"]["per_rep"]}
    if "measured" in payload:
        tables["measured"] = payload["measured"]["per_rep"]
    for name, rows in tables.items():
        frame = pd.DataFrame(rows)
        _write_parquet(out / f"{name}.parquet", frame)
        report.table(name, frame, f"{name.capitalize()} repetitions")
    fig = new_figure(10.0, 3.8)
    for ax, column in zip(fig.subplots(1, 2), ("loss", "accuracy"), strict=True):
        plot_band(ax, predicted, column, "predicted (replayed schedule)", budget)
        plot_band(ax, measured, column, "measured here", budget)
        ax.set(xlabel="time (s)", ylabel=column, title=f"{column}: median, quartile band")
        ax.legend(fontsize=8)
    report.figure("curves", fig, "Predicted against measured curves")
    return report.write()


def _write_parquet(path: Path, frame: Any) -> None:
    from theory.trace import atomic_write

    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
