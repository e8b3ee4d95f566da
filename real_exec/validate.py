"""Validation: calibrate the simulator on a real run, simulate the same configuration, compare."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from real_exec.calibrate import calibrate_profile
from real_exec.compare import Comparison, compare_traces
from real_exec.context import RunConfig
from real_exec.problems import make_problem
from real_exec.runner import RunResult, run
from staleness_sim.engine import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.result import SimResult
from theory.trace import Trace

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Validation", "plot_comparison", "validate"]


@dataclass(frozen=True, eq=False)
class Validation:
    real: RunResult
    sim: SimResult
    profile: HardwareProfile
    comparison: Comparison

    def summary(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "algo": self.real.trace.meta["algorithm"],
            "threads": self.real.trace.meta["workers"],
            "tv": c.tv,
            "w1": c.w1,
            "g_test_p_value": c.p_value,
            "throughput_ratio": c.throughput_ratio,
            "throughput": {"real": c.throughput_a, "sim": c.throughput_b},
            "tau_mean": {"real": c.tau_mean["a"], "sim": c.tau_mean["b"]},
            "cas_failure_rate": {"real": c.cas_failure_rate["a"], "sim": c.cas_failure_rate["b"]},
            "dropped": {"real": c.dropped["a"], "sim": c.dropped["b"]},
            "peak_live_vectors": {"real": self.real.peak_live_vectors, "sim": self.sim.peak_live_vectors},
            "profile": self.profile.to_dict(),
        }


def validate(
    algo: str,
    threads: int,
    problem: str,
    seconds: float = 5.0,
    seed: int = 0,
    eta: float = 0.05,
    persistence: int | None = None,
    cores: int | None = None,
) -> Validation:
    """Run ``algo`` for real, calibrate a profile on its Trace, simulate it, compare."""
    prob = make_problem(problem, np.random.default_rng(seed))
    real = run(
        RunConfig(
            algo, threads, eta, seconds=seconds, seed=seed, persistence=persistence, check_updates=False
        ),
        prob,
    )
    profile = calibrate_profile(real.trace, cores or os.cpu_count(), real.gradient_cpu)
    sim = simulate(
        SimConfig(algo, threads, profile, max(len(real.trace), 10), seed=seed, persistence=persistence)
    )
    return Validation(real, sim, profile, compare_traces(real.trace, sim.trace))


def plot_comparison(ax: Axes, real: Trace, sim: Trace, title: str) -> Axes:
    """Staleness pmfs of a real and a simulated run side by side."""
    a, b = real.staleness(), sim.staleness()
    both = np.concatenate([a, b])
    top = int(np.quantile(both, 0.999)) if both.size else 0  # rare long delays would hide the bars
    k = np.arange(top + 1)
    ax.bar(k - 0.2, np.bincount(a, minlength=top + 1)[: top + 1] / max(1, a.size), width=0.4, label="real")
    ax.bar(
        k + 0.2, np.bincount(b, minlength=top + 1)[: top + 1] / max(1, b.size), width=0.4, label="simulated"
    )
    ax.set(xlabel="staleness tau", ylabel="probability", title=title, xlim=(-0.7, top + 0.7))
    ax.legend()
    return ax


def write_validation(out: Path, v: Validation) -> Path:
    """Report with the comparison table, the staleness plot and both Traces."""
    import pandas as pd

    from real_exec.report import Report
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
