"""Regenerate the figures of docs/simulator.md: ``python docs/make_simulator_figures.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import parse_timing
from theory.plots import new_figure
from theory.staleness import Geometric

OUT = Path(__file__).parent / "figures"


def profile(**kw: object) -> HardwareProfile:
    timing = {k: parse_timing(v) for k, v in kw.items() if k in ("compute", "read", "publish")}
    return HardwareProfile(**timing, **{k: v for k, v in kw.items() if k not in timing})  # type: ignore[arg-type]


def geometric_case() -> None:
    fig = new_figure(9.0, 3.6)
    for ax, m in zip(fig.subplots(1, 2), (4, 16), strict=True):
        tau = simulate(
            SimConfig("hogwild", m, profile(compute="expon:scale=1"), 100_000, seed=1)
        ).trace.staleness()
        k = np.arange(min(tau.max(), 6 * m) + 1)
        ax.bar(k, np.bincount(tau, minlength=k.size)[: k.size] / tau.size, color="0.8", label="simulated")
        ax.plot(k, Geometric(1 - 1 / m).pmf(k), "r.-", label=f"Geometric(q = 1 - 1/{m})")
        ax.set(title=f"HOGWILD!, {m} workers, exp(1) compute", xlabel="staleness tau", ylabel="probability")
        ax.legend()
    fig.savefig(OUT / "sim_hogwild_geometric.png", dpi=110)


def throughput_cases() -> None:
    fig = new_figure(9.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    workers = [1, 2, 4, 8, 16, 32]
    for c in (0.05, 0.2):
        thr = [
            simulate(
                SimConfig("lock", m, profile(compute="expon:scale=1", publish=f"const:{c}"), 20_000, seed=1)
            ).summary()["throughput"]
            for m in workers
        ]
        ax1.plot(workers, thr, "o-", label=f"lock, apply cost c = {c}")
        ax1.axhline(1 / c, linestyle=":", color=ax1.lines[-1].get_color())
    ax1.set(xscale="log", yscale="log", xlabel="workers", ylabel="updates / s", title="Lock saturates at 1/c")
    ax1.legend(fontsize=8)
    for cores in (2, 8):
        thr = [
            simulate(
                SimConfig("hogwild", m, profile(compute="expon:scale=1", cores=cores), 20_000, seed=1)
            ).summary()["throughput"]
            for m in workers
        ]
        ax2.plot(workers, thr, "o-", label=f"HOGWILD!, {cores} cores")
    ax2.plot(workers, workers, "k:", label="workers / compute")
    ax2.set(
        xscale="log",
        yscale="log",
        xlabel="workers",
        ylabel="updates / s",
        title="Time sharing: throughput follows cores",
    )
    ax2.legend(fontsize=8)
    fig.savefig(OUT / "sim_throughput.png", dpi=110)


def leashed_cases() -> None:
    fig = new_figure(9.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    workers = [2, 4, 8, 16, 32]
    for c in (0.01, 0.05, 0.2):
        res = [
            simulate(
                SimConfig(
                    "leashed", m, profile(compute="expon:scale=1", publish=f"const:{c}"), 20_000, seed=1
                )
            )
            for m in workers
        ]
        ax1.plot(workers, [r.summary()["cas_failures"] / 20_000 for r in res], "o-", label=f"publish {c}")
        ax2.plot(workers, [r.peak_live_vectors for r in res], "o-", label=f"peak, publish {c}")
    ax2.plot(workers, [2 * m + 1 for m in workers], "k:", label="2m + 1")
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel="workers",
        ylabel="failed CAS per gradient",
        title="Leashed-SGD contention",
    )
    ax2.set(xscale="log", xlabel="workers", ylabel="live parameter vectors", title="Leashed-SGD memory")
    for ax in (ax1, ax2):
        ax.set_xticks(workers, [str(m) for m in workers])
        ax.minorticks_off()
        ax.legend(fontsize=8)
    fig.savefig(OUT / "sim_leashed.png", dpi=110)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    geometric_case()
    throughput_cases()
    leashed_cases()
