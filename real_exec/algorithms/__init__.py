"""Worker loops of the four algorithms; each ``run_<algo>(ctx, i, shared)`` runs in a thread."""

from real_exec.algorithms.hogwild import HogwildState, hogwild_worker
from real_exec.algorithms.leashed import LeashedState, leashed_worker
from real_exec.algorithms.lock import LockState, lock_worker
from real_exec.algorithms.sync import SyncState, sync_worker

__all__ = [
    "HogwildState",
    "LeashedState",
    "LockState",
    "SyncState",
    "hogwild_worker",
    "leashed_worker",
    "lock_worker",
    "sync_worker",
]
