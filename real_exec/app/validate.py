"""``asgd validate`` and ``asgd compare``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from real_exec.app.choices import algo_option, seed_option, speeds_options, threshold_option
from real_exec.app.options import POSITIVE, cli_errors, emit, json_option, out_option, stderr_progress
from real_exec.app.report import format_p
from real_exec.app.workload import build_problem, workload_options
from real_exec.study.validate import Validation, plot_comparison, validate
from theory.compare import compare_traces
from theory.trace import Trace

__all__ = ["compare_command", "validate_command", "write_validation"]


@click.command("validate")
@algo_option
@click.option("--threads", type=click.IntRange(min=1), required=True, help="Worker threads of the real run.")
@workload_options
@click.option("--eta", type=POSITIVE, default=0.05, show_default=True, help="eta0.")
@click.option("--seconds", type=POSITIVE, default=5.0, show_default=True, help="Length of the real run.")
@seed_option("The real and simulated runs' seed.")
@speeds_options
@threshold_option("Ringmaster ASGD (with --algo lock): a gradient whose delay reached R is thrown away.")
@out_option("Write a report (index.html) and both Traces here.")
@json_option
@cli_errors
def validate_command(
    algo: str,
    threads: int,
    eta: float,
    seconds: float,
    seed: int,
    speeds: tuple[float, ...],
    slow_mode: str,
    threshold: int | None,
    out: Path | None,
    as_json: bool,
    **workload: Any,
) -> None:
    """Run ALGO for real, calibrate the simulator on it, simulate the same run and compare.

    Without --problem, --model or --dataset it trains the digits MLP (--problem digits-mlp).
    """
    if threshold is not None and algo != "lock":
        raise click.BadParameter("Ringmaster's R goes with lock-based SGD (--algo lock)", param_hint="--R")
    if all(workload[k] is None for k in ("problem", "model", "dataset")):
        workload["problem"] = "digits-mlp"
    prob = build_problem(seed=seed, **workload)
    v = validate(
        algo,
        threads,
        prob,
        seconds,
        seed,
        eta=eta,
        progress=stderr_progress(as_json),
        speeds=speeds,
        slow_mode=slow_mode,
        threshold=threshold,
    )
    problem = prob.name
    payload: dict[str, Any] = v.summary()
    if out is not None:
        payload["report"] = str(write_validation(out, v))
    thr, cas = payload["throughput"], payload["cas_failure_rate"]
    name = algo if threshold is None else f"Ringmaster ASGD (lock, R = {threshold})"
    lines = [
        f"{name}, {threads} threads, {problem}: real vs calibrated simulation",
        f"  staleness TV {payload['tv']:.3f}, W1 {payload['w1']:.3f}, "
        f"G-test p {payload['g_test_p_value']:.3g}",
        f"  throughput real {thr['real']:.0f}/s, sim {thr['sim']:.0f}/s "
        f"(ratio {payload['throughput_ratio']:.3f})",
        f"  CAS failure rate real {cas['real']:.3f}, sim {cas['sim']:.3f}",
    ]
    dropped = payload["dropped_share"]
    if max(dropped.values()) > 0:
        lines.append(f"  gradients dropped: real {dropped['real']:.1%}, sim {dropped['sim']:.1%}")
    if max(speeds) > 1.0:
        given, found = payload["speeds"]["given"], payload["speeds"]["recovered"]
        lines.append(
            "  worker speeds given "
            + ", ".join(f"{v:g}" for v in given)
            + "; calibrated "
            + ", ".join(f"{v:.2f}" for v in found)
        )
    if (payload["stolen"] or 0.0) >= 0.001:
        lines.append(f"  the hypervisor took {100 * payload['stolen']:.1f}% of the cores' time meanwhile")
    lines += [f"  where the model misses: {note}" for note in payload["notes"]]
    emit(payload, as_json, lines)


@click.command("compare")
@click.argument("trace_a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("trace_b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@cli_errors
def compare_command(trace_a: Path, trace_b: Path, as_json: bool) -> None:
    """Compare two saved Traces: staleness TV/W1/G-test, throughput ratio B/A, CAS failures."""
    a, b = _load_trace(trace_a, "TRACE_A"), _load_trace(trace_b, "TRACE_B")
    c = compare_traces(a, b)
    payload = c.to_dict()
    notes = _differences(a.meta, b.meta)
    if notes:
        payload["note"] = "; ".join(notes)
    lines = [
        f"staleness TV {c.tv:.4f}, W1 {c.w1:.4f}, G-test p {format_p(c.p_value)}",
        f"throughput A {c.throughput_a:.6g}/s, B {c.throughput_b:.6g}/s, ratio B/A {c.throughput_ratio:.4f}",
        f"CAS failure rate A {c.cas_failure_rate['a']:.4f}, B {c.cas_failure_rate['b']:.4f}; "
        f"dropped A {c.dropped['a']}, B {c.dropped['b']}",
    ]
    if notes:
        lines.append(f"note: {payload['note']}")
    emit(payload, as_json, lines)


def _load_trace(path: Path, which: str) -> Trace:
    """The Trace at ``path``, or a usage error naming the argument and the file."""
    try:
        return Trace.load(path)
    except (ValueError, KeyError, OSError) as exc:
        raise click.BadParameter(f"{path} is not a saved Trace ({exc})", param_hint=which) from None


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """What makes two Traces' numbers incomparable: different algorithms, or one real (seconds)
    and one simulated (the profile's time unit)."""
    notes = []
    if a.get("algorithm") and b.get("algorithm") and a["algorithm"] != b["algorithm"]:
        notes.append(f"the algorithms differ ({a['algorithm']} against {b['algorithm']})")
    if {a.get("source"), b.get("source")} == {"real", "simulated"}:
        notes.append(
            "one Trace is real (seconds) and one simulated (the profile's time unit): the throughput "
            "ratio is in mixed units unless the profile was calibrated on this machine"
        )
    return notes


def write_validation(out: Path, v: Validation) -> Path:
    """Report with the comparison table, the staleness plot and both Traces."""
    import pandas as pd

    from real_exec.app.report import Report
    from theory.plots import new_figure

    s = v.summary()
    report = Report(out, f"Validation: {s['algo']}, {s['threads']} threads")
    fig = new_figure()
    plot_comparison(fig.add_subplot(), v.real.trace, v.sim.trace, f"{s['algo']}, {s['threads']} threads")
    report.figure("staleness_real_vs_sim", fig, "Staleness pmf: real run and calibrated simulation")
    rows = [
        {"metric": "staleness TV", "value": s["tv"]},
        {"metric": "staleness W1", "value": s["w1"]},
        {"metric": "G-test p-value", "value": s["g_test_p_value"]},
        {"metric": "throughput ratio sim/real", "value": s["throughput_ratio"]},
        {"metric": "CAS failure rate real", "value": s["cas_failure_rate"]["real"]},
        {"metric": "CAS failure rate sim", "value": s["cas_failure_rate"]["sim"]},
    ]
    report.table("comparison", pd.DataFrame(rows), "Real against simulated")
    v.real.trace.save(out / "trace_real")
    v.sim.trace.save(out / "trace_sim")
    return report.write()
