"""Discrete-event simulation of asynchronous SGD executions (imports :mod:`theory`).

>>> from staleness_sim import HardwareProfile, SimConfig, simulate
>>> result = simulate(SimConfig("hogwild", 4, HardwareProfile(), gradients=2000, seed=1))
>>> result.summary()["updates"], round(result.summary()["tau_mean"])
(2000, 3)

Every public name is loaded on first use (see :mod:`theory.exports`).
"""

from theory.exports import lazy_exports

#: Module (under ``staleness_sim``) -> the public names it defines.
_MODULES: dict[str, tuple[str, ...]] = {
    "config": ("ALGORITHMS", "SimConfig"),
    "engines": ("ENGINES", "simulate"),
    "fast_engine": ("fast_supported",),
    "profile": ("HardwareProfile", "load_profile", "shipped_profiles"),
    "result": ("SimResult",),
    "sgd": ("SGDCurve", "sgd_under_trace"),
    "sweep": ("load_sweep", "run_sweep"),
    "timing": ("Constant", "EmpiricalTiming", "describe", "parse_timing"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"staleness_sim.{module}" for module, names in _MODULES.items() for name in names}
)
