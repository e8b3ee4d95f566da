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

#: Module -> the public names it defines.
_MODULES: dict[str, tuple[str, ...]] = {
    "real_exec.study.calibrate": ("calibrate_profile",),
    "real_exec.executor.config": ("ALGORITHMS", "RunConfig"),
    "real_exec.executor.machine": ("machine_info",),
    "real_exec.executor.problems": ("PROBLEMS", "Problem", "make_problem"),
    "real_exec.executor.runner": ("RunResult", "WorkerError", "run"),
    "real_exec.study.validate": ("Validation", "validate", "validate_run"),
    "theory.version": ("__version__",),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__, __dir__ = lazy_exports(
    __name__, {name: module for module, names in _MODULES.items() for name in names}
)
