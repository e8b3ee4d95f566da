"""SGD itself under simulated delays: the loss against simulated time.

The applied updates of a Trace, in publish order, are the schedule's steps (one row, or the
rows of a synchronous round or a Rennala step, which share their ``apply_version``);
:func:`theory.run_trace_sgd` runs SGD in them, each gradient at the version its row read,
and step ``k`` lands at the simulated time of its last row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from theory.delayed_sgd import run_trace_sgd
from theory.problems import Quadratic
from theory.spec import make_rule
from theory.staleness import Empirical
from theory.trace import Trace

__all__ = ["SGDCurve", "sgd_under_trace"]


@dataclass(frozen=True, eq=False)
class SGDCurve:
    """Loss (``f(x_k) - f*``) after each step, and the Trace with its step sizes."""

    time: npt.NDArray[np.float64]
    loss: npt.NDArray[np.float64]
    trace: Trace

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "loss": self.loss})

    def save(self, out: str | Path) -> list[Path]:
        """Write the curve (``loss.parquet``) and its plot (``loss.png``) to ``out``."""
        from theory.plots import new_figure, save_figure
        from theory.trace import atomic_write

        out = Path(out)
        frame = self.frame()
        atomic_write(out / "loss.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
        fig = new_figure()
        ax = fig.add_subplot()
        ax.plot(frame["time"], frame["loss"])
        ax.set(
            yscale="log", xlabel="simulated time (s)", ylabel="f(x) - f*", title="SGD under simulated delays"
        )
        return [out / "loss.parquet", save_figure(fig, out / "loss.png")]


def sgd_under_trace(
    trace: Trace,
    problem: Quadratic,
    rng: np.random.Generator,
    eta0: float | None = None,
    rule: str = "constant",
    warmup: float = 0.1,
) -> SGDCurve:
    """Run SGD on ``problem`` with the delays of ``trace``.

    ``eta0`` defaults to ``1 / (2 L (tau_max + 1))``. ``rule`` is a name of
    :data:`theory.stepsize.RULES`; the rules built from the staleness pmf (``tail``,
    ``mindthestep``, ``cutoff``) take it from the first ``warmup`` fraction of the updates,
    as TAIL-tau does in ASAP.SGD; ``fleet``'s ``m`` and ``ringmaster``'s ``R`` are the
    Trace's workers.
    """
    table = trace.table
    applied = trace.applied()
    tau = applied["tau"].to_numpy(dtype=np.int64)
    if tau.size == 0:
        raise ValueError("the trace has no applied updates")
    if eta0 is None:
        eta0 = 1.0 / (2.0 * problem.lsmooth * (int(tau.max()) + 1))
    warm = tau[: max(1, int(warmup * tau.size))]
    workers = trace.meta.get("workers")
    s = make_rule(rule, Empirical.from_samples(warm), workers=int(workers) if workers else None)
    x0 = problem.x_star + rng.standard_normal(problem.dim)
    read = applied["read_version"].to_numpy(dtype=np.int64)
    version = applied["apply_version"].to_numpy(dtype=np.int64)
    run = run_trace_sgd(problem, x0, eta0, read, version, rng, runs=1, rule=s)
    steps = np.full(len(table), 0.0)
    steps[applied.index.to_numpy()] = run.row_step
    with_steps = Trace.from_columns(
        meta=dict(trace.meta) | {"stepsize": rule, "eta0": eta0},
        **{c: table[c].to_numpy() for c in table.columns if c != "step_size"},
        step_size=steps,
    )
    after = np.r_[run.gap[0, 1:], run.gap_final[0]]  # the loss after each step
    times = applied["t_apply"].to_numpy()[run.last_row]
    return SGDCurve(times, after, with_steps)
