"""Choose an engine and simulate: ``simulate(config, engine="simpy" | "fast")``.

Both engines draw the same random durations (:mod:`staleness_sim.durations`) and return the
same Trace for the configurations the fast engine covers (:func:`fast_supported`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from staleness_sim.config import SimConfig

if TYPE_CHECKING:
    from staleness_sim.result import SimResult

__all__ = ["ENGINES", "Engine", "simulate"]

Engine = Literal["simpy", "fast"]


def _simpy(config: SimConfig, progress: Callable[[int], None] | None) -> SimResult:
    from staleness_sim.simpy_engine import simulate_simpy

    return simulate_simpy(config, progress)


def _fast(config: SimConfig, progress: Callable[[int], None] | None) -> SimResult:
    from staleness_sim.fast_engine import simulate_fast  # numba: imported only when chosen

    return simulate_fast(config)


#: Engine name -> how it simulates a config (with an optional progress callback).
ENGINES: dict[str, Callable[[SimConfig, Callable[[int], None] | None], SimResult]] = {
    "simpy": _simpy,
    "fast": _fast,
}


def simulate(
    config: SimConfig, engine: Engine | str = "simpy", progress: Callable[[int], None] | None = None
) -> SimResult:
    """Simulate ``config``; the same config and engine give the same Trace, bit for bit.

    ``progress``, if given, is called with the number of gradients recorded so far (the
    SimPy engine reports about 100 times per run; the fast engine does not report).
    """
    run = ENGINES.get(engine)
    if run is None:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return run(config, progress)
