"""Choose an engine and simulate: ``simulate(config, engine="simpy" | "fast" | "auto")``.

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

Engine = Literal["auto", "simpy", "fast"]


Progress = Callable[[int], None] | None


def _simpy(config: SimConfig, progress: Progress, keep_trace: bool) -> SimResult:
    from staleness_sim.simpy_engine import simulate_simpy

    result = simulate_simpy(config, progress)
    return result if keep_trace else result.without_trace()


def _fast(config: SimConfig, progress: Progress, keep_trace: bool) -> SimResult:
    from staleness_sim.fast_engine import simulate_fast  # numba: imported only when chosen
    from staleness_sim.pages import small_pages

    with small_pages():  # no stalls for huge pages on arrays written once
        return simulate_fast(config, progress, keep_trace)


def _auto(config: SimConfig, progress: Progress, keep_trace: bool) -> SimResult:
    from staleness_sim.fast_engine import fast_supported

    run = _fast if fast_supported(config) is None else _simpy
    return run(config, progress, keep_trace)


#: Engine name -> how it simulates a config (with an optional progress callback, and
#: whether to keep the Trace). ``auto``: the fast engine where it applies, else SimPy.
ENGINES: dict[str, Callable[[SimConfig, Progress, bool], SimResult]] = {
    "auto": _auto,
    "simpy": _simpy,
    "fast": _fast,
}


def simulate(
    config: SimConfig,
    engine: Engine | str = "auto",
    progress: Progress = None,
    keep_trace: bool = True,
) -> SimResult:
    """Simulate ``config``; the same config and engine give the same Trace, bit for bit, and
    where the fast engine applies (:func:`~staleness_sim.fast_engine.fast_supported`) both
    engines give the same Trace.

    ``progress``, if given, is called with the number of gradients recorded so far (the
    SimPy engine and the fast engine's event loop report about 100 times per run, the
    vectorized HOGWILD! and synchronous paths not at all). Without ``keep_trace`` the
    result has no Trace, only what its summary needs (for very long runs).
    """
    run = ENGINES.get(engine)
    if run is None:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return run(config, progress, keep_trace)
