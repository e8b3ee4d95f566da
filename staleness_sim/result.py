"""What a simulation produces: the Trace and its summary statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from theory.trace import Trace

__all__ = ["SimResult", "summarize"]


@dataclass(frozen=True, eq=False)
class SimResult:
    """A simulated run: its Trace, summary numbers and memory statistics."""

    trace: Trace
    engine: str
    seed: int
    peak_live_vectors: int
    mean_live_vectors: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``asgd simulate``."""
        return (
            summarize(self.trace)
            | {
                "peak_live_vectors": self.peak_live_vectors,
                "mean_live_vectors": self.mean_live_vectors,
                "engine": self.engine,
                "seed": self.seed,
            }
            | self.extra
        )


def summarize(trace: Trace) -> dict[str, Any]:
    """Updates, throughput, staleness pmf, CAS statistics and drops of a Trace."""
    table = trace.table
    applied = table[~table["dropped"]]
    tau = applied["tau"].to_numpy()
    duration = float(applied["t_apply"].max()) if len(applied) else 0.0
    counts = np.bincount(tau) if tau.size else np.zeros(0, dtype=int)
    attempts = table["attempts"].to_numpy()
    hist = np.bincount(attempts)
    return {
        "gradients": len(table),
        "updates": len(applied),
        "sim_time": duration,
        "throughput": len(applied) / duration if duration > 0 else float("nan"),
        "tau_mean": float(tau.mean()) if tau.size else float("nan"),
        "tau_pmf": {int(k): float(c / tau.size) for k, c in enumerate(counts) if c},
        "cas_failures": int(attempts.sum() - len(applied)),
        "cas_attempts_hist": {int(k): int(c) for k, c in enumerate(hist) if c},
        "dropped": int(table["dropped"].sum()),
    }
