"""What a simulation produces: the Trace, its summary, and Leashed-SGD's memory statistics."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from theory.analysis import Tally
from theory.trace import Trace

__all__ = ["SimResult"]


@dataclass(frozen=True, eq=False)
class SimResult:
    """A simulated run: its Trace, summary numbers and memory statistics.

    ``kept_trace`` is ``None`` for a run that kept only its summary (``keep_trace=False`` in
    :func:`staleness_sim.engines.simulate`); ``tally`` is then what the summary is made of.
    """

    kept_trace: Trace | None
    engine: str
    seed: int
    peak_live_vectors: int
    mean_live_vectors: float
    extra: dict[str, Any] = field(default_factory=dict)
    tally: Tally | None = None

    @property
    def trace(self) -> Trace:
        """The Trace; a ``ValueError`` for a run simulated without one."""
        if self.kept_trace is None:
            raise ValueError("this result kept no Trace (it was simulated without one)")
        return self.kept_trace

    def without_trace(self) -> SimResult:
        """The same result keeping only the tally of its Trace."""
        return replace(self, kept_trace=None, tally=self._tally())

    def _tally(self) -> Tally:
        return self.tally if self.tally is not None else Tally.of(self.trace)

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``asgd simulate``: :meth:`theory.analysis.Tally.summary` of
        the Trace (its duration as ``sim_time``), memory statistics, engine and seed."""
        s = self._tally().summary()
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
        from theory.plots import new_figure, plot_staleness, save_figure

        out = Path(out)
        files = list(self.trace.save(out / "trace"))
        fig = new_figure()
        plot_staleness(fig.add_subplot(), self.trace)
        files.append(save_figure(fig, out / "staleness.png"))
        return files
