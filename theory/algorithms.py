"""The synchronization mechanisms asgd simulates and runs: the one table of their names.

Every algorithm named here has a simulated worker (:data:`staleness_sim.mechanisms.MECHANISMS`)
and a real, compiled worker loop (:data:`real_exec.executor.algorithms.LOOPS`); the tests
check that both registries cover this table exactly, and every engine and command refuses
a name that is not in it (``docs/architecture.md``, "How to add an algorithm").
"""

from __future__ import annotations

__all__ = ["ALGORITHMS", "ALGORITHM_SUMMARY", "check_algorithm"]

#: Algorithm name -> one line on what its workers do.
ALGORITHM_SUMMARY: dict[str, str] = {
    "lock": "lock-based AsyncSGD: a mutex around each read and each update of the shared vector",
    "hogwild": "HOGWILD!: no lock; each worker reads and updates the shared vector in place",
    "leashed": "Leashed-SGD: each update is a new vector, published by compare-and-swap",
    "sync": "synchronous SGD: a barrier per round, the round's gradients averaged into one step",
    "rennala": "Rennala SGD: the first S gradients computed at the current point averaged into one step; "
    "a gradient of an older point is thrown away",
}

#: The algorithm names, in the order tables and plots list them.
ALGORITHMS: tuple[str, ...] = tuple(ALGORITHM_SUMMARY)


def check_algorithm(algo: str) -> str:
    """``algo`` if it is one of :data:`ALGORITHMS`, else ``ValueError`` naming the choices.

    >>> check_algorithm("hogwild")
    'hogwild'
    """
    if algo not in ALGORITHM_SUMMARY:
        raise ValueError(f"algo must be one of {', '.join(ALGORITHMS)}, got {algo!r}")
    return algo
