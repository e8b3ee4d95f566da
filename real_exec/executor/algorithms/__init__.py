"""The algorithms' compiled worker loops and their shared state.

:data:`LOOPS` maps an algorithm to ``(State, loop)``: ``State(initial, config)`` (the
:class:`~real_exec.executor.config.RunConfig`) holds what the workers share, and each thread
runs ``loop(*state.arguments(i), kernel, data, ws, run, mine)``
(:meth:`real_exec.executor.run_context.RunContext.arguments`;
:mod:`real_exec.executor.algorithms.steps` for the shared part) without the interpreter until the
run stops or the loop needs the runner (a full buffer, the end of the warm-up).

The loops are compiled once per process and kernel (before a run's clock starts), not
cached on disk: numba's cache index of a function that takes a kernel keeps every kernel
it was compiled for, and saving it fails in any later process that cannot import one of
them (a kernel defined in a script or a notebook). Everything they call is cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from real_exec.executor.algorithms.hogwild import HogwildState, hogwild_loop
from real_exec.executor.algorithms.leashed import LeashedState, leashed_loop
from real_exec.executor.algorithms.lock import LockState, lock_loop
from real_exec.executor.algorithms.rennala import RennalaState, rennala_loop
from real_exec.executor.algorithms.sync import SyncState, sync_loop

__all__ = ["LOOPS", "HogwildState", "LeashedState", "LockState", "RennalaState", "SyncState"]

#: Algorithm -> (its shared state, built from the initial parameters and the run's config;
#: its compiled worker loop).
LOOPS: dict[str, tuple[Callable[[Any, Any], Any], Any]] = {
    "lock": (lambda init, c: LockState(init, c.threads), lock_loop),
    "hogwild": (lambda init, c: HogwildState(init, c.threads), hogwild_loop),
    "leashed": (lambda init, c: LeashedState(init, c.threads, c.persistence), leashed_loop),
    "sync": (lambda init, c: SyncState(init, c.threads), sync_loop),
    "rennala": (lambda init, c: RennalaState(init, c.threads, c.batch), rennala_loop),
}
