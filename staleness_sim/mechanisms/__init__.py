"""Synchronization mechanisms: one worker process per module."""

from staleness_sim.mechanisms.hogwild import hogwild_worker
from staleness_sim.mechanisms.leashed import leashed_worker
from staleness_sim.mechanisms.lock import lock_worker
from staleness_sim.mechanisms.mutex import Mutex
from staleness_sim.mechanisms.sync import SyncBarrier, sync_worker

__all__ = ["Mutex", "SyncBarrier", "hogwild_worker", "leashed_worker", "lock_worker", "sync_worker"]
