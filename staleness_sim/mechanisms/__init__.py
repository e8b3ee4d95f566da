"""Synchronization mechanisms: one worker process per module, and :data:`MECHANISMS`, the
registry that starts an algorithm's workers in a SimPy run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from staleness_sim.mechanisms.hogwild import Starts, Writes, hogwild_state, hogwild_worker
from staleness_sim.mechanisms.leashed import Publishes, leashed_worker
from staleness_sim.mechanisms.lock import StepBatch, lock_worker
from staleness_sim.mechanisms.mutex import Mutex
from staleness_sim.mechanisms.sync import SyncBarrier, sync_worker

if TYPE_CHECKING:
    from staleness_sim.config import SimConfig
    from staleness_sim.sim_context import SimContext

__all__ = [
    "MECHANISMS",
    "MUTEX_ALGORITHMS",
    "Mutex",
    "Publishes",
    "Starts",
    "StepBatch",
    "SyncBarrier",
    "Writes",
    "hogwild_state",
    "hogwild_worker",
    "leashed_worker",
    "lock_worker",
    "start_workers",
    "sync_worker",
]


def _lock(ctx: SimContext, config: SimConfig) -> None:
    if config.abandon and (ctx.cores is not None or ctx.gil is not None):
        raise ValueError("abandoned gradients have no model of time-shared cores or the GIL here")
    lock = Mutex(ctx)
    for i in range(config.workers):
        ctx.env.process(lock_worker(ctx, i, lock, threshold=config.threshold, abandon=config.abandon))


def _rennala(ctx: SimContext, config: SimConfig) -> None:
    lock, batch = Mutex(ctx), StepBatch(config.batch)
    for i in range(config.workers):
        ctx.env.process(lock_worker(ctx, i, lock, batch))


def _hogwild(ctx: SimContext, config: SimConfig) -> None:
    writes, starts = hogwild_state(ctx, config.seed)
    for i in range(config.workers):
        ctx.env.process(hogwild_worker(ctx, i, writes, starts))


def _leashed(ctx: SimContext, config: SimConfig) -> None:
    publishes = Publishes(ctx.env)
    for i in range(config.workers):
        ctx.env.process(leashed_worker(ctx, i, config.persistence, publishes))


def _sync(ctx: SimContext, config: SimConfig) -> None:
    barrier = SyncBarrier(ctx.env, config.workers)
    for i in range(config.workers):
        ctx.env.process(sync_worker(ctx, i, barrier))


#: Algorithm (:data:`theory.algorithms.ALGORITHMS`) -> what starts its workers' processes.
MECHANISMS: dict[str, Callable[[SimContext, SimConfig], None]] = {
    "lock": _lock,
    "hogwild": _hogwild,
    "leashed": _leashed,
    "sync": _sync,
    "rennala": _rennala,
}


#: The algorithms whose workers take one mutex (the profile's ``lock_handoff`` is theirs).
MUTEX_ALGORITHMS = frozenset({"lock", "rennala"})


def start_workers(ctx: SimContext, config: SimConfig) -> None:
    """Start ``config.workers`` worker processes of ``config.algo`` in ``ctx``'s environment;
    ``ValueError`` naming the choices for an algorithm without a mechanism."""
    start = MECHANISMS.get(config.algo)
    if start is None:
        raise ValueError(f"algo must be one of {', '.join(MECHANISMS)}, got {config.algo!r}")
    start(ctx, config)
