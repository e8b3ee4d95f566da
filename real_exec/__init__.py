"""Real multithreaded shared-memory SGD on this machine (imports both other packages).

>>> from real_exec import RunConfig, make_problem, run
>>> import numpy as np
>>> problem = make_problem("quadratic", np.random.default_rng(0))
>>> result = run(RunConfig("leashed", threads=2, eta=0.05, gradients=2000, seed=1), problem)
>>> result.summary()["gradients"], result.lost_update_norm < 1e-9
(2000, True)

Every public name is loaded on first use (see :mod:`theory.exports`).
"""

from theory.exports import lazy_exports

#: Module (under ``real_exec``) -> the public names it defines.
_MODULES: dict[str, tuple[str, ...]] = {
    "calibrate": ("calibrate_profile",),
    "config": ("ALGORITHMS", "RunConfig"),
    "machine": ("machine_info",),
    "problems": ("PROBLEMS", "Problem", "make_problem"),
    "runner": ("RunResult", "WorkerError", "run"),
    "validate": ("Validation", "validate", "validate_run"),
    "version": ("__version__",),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"real_exec.{module}" for module, names in _MODULES.items() for name in names}
)
