"""What a simulation produces: the Trace, its summary, and Leashed-SGD's memory statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theory.analysis import summarize
from theory.trace import Trace

__all__ = ["SimResult"]


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
        """The JSON document of ``asgd simulate``: :func:`theory.analysis.summarize` of the
        Trace (its duration as ``sim_time``), memory statistics, engine and seed."""
        s = summarize(self.trace)
        s["sim_time"] = s.pop("duration")
        return (
            s
            | {
                "peak_live_vectors": self.peak_live_vectors,
                "mean_live_vectors": self.mean_live_vectors,
                "engine": self.engine,
                "seed": self.seed,
            }
            | self.extra
        )

    def save(self, out: str | Path) -> list[Path]:
        """Write the Trace (``trace.parquet`` + ``trace.json``) and ``staleness.png`` to ``out``."""
        from staleness_sim.plots import plot_staleness
        from theory.plots import new_figure, save_figure

        out = Path(out)
        files = list(self.trace.save(out / "trace"))
        fig = new_figure()
        plot_staleness(fig.add_subplot(), self.trace)
        files.append(save_figure(fig, out / "staleness.png"))
        return files
