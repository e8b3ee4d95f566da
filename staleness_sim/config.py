"""What to simulate: algorithm, workers, hardware profile, length and seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staleness_sim.profile import HardwareProfile
from theory.algorithms import ALGORITHMS, check_algorithm
from theory.rennala import check_step_batch, step_batch

__all__ = ["ALGORITHMS", "SimConfig"]


@dataclass(frozen=True)
class SimConfig:
    """One simulated execution: ``gradients`` computed by ``workers`` under ``algo``.

    ``persistence`` is Leashed-SGD's bound on CAS attempts per gradient (``None``: unbounded);
    ``step_batch`` Rennala SGD's ``S``, the gradients per step (``None``: the workers).
    ``threshold`` makes lock-based SGD Ringmaster ASGD (Maranjyan, Tyurin & Richtarik, ICML
    2025): a gradient whose delay has reached ``R`` is thrown away instead of applied (the
    version does not move); with ``abandon`` its worker stops computing it as soon as the
    version has moved ``R`` times since its read, and starts again at the current one.
    """

    algo: str
    workers: int
    profile: HardwareProfile
    gradients: int = 10_000
    seed: int = 0
    persistence: int | None = None
    step_batch: int | None = None
    threshold: int | None = None
    abandon: bool = False

    def __post_init__(self) -> None:
        check_algorithm(self.algo)
        check_step_batch(self.step_batch)
        if self.step_batch is not None and self.algo != "rennala":
            raise ValueError(f"only Rennala SGD has a step batch, not algo {self.algo!r}")
        if self.threshold is not None:
            if self.algo != "lock":
                raise ValueError(f"Ringmaster's threshold is lock-based SGD's, not algo {self.algo!r}")
            if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1:
                raise ValueError(f"the threshold R must be an integer >= 1, got {self.threshold!r}")
        if self.abandon and self.threshold is None:
            raise ValueError("abandon needs a threshold R (Ringmaster's stopping variant)")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")
        if not isinstance(self.gradients, int) or self.gradients < 1:
            raise ValueError(f"gradients must be an integer >= 1, got {self.gradients!r}")
        if self.persistence is not None and self.persistence < 1:
            raise ValueError(f"persistence must be >= 1, got {self.persistence}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    @property
    def batch(self) -> int:
        """Rennala SGD's ``S`` in use (:func:`theory.rennala.step_batch`)."""
        return step_batch(self.step_batch, self.workers)

    def meta(self) -> dict[str, Any]:
        """The Trace metadata of this configuration."""
        return {
            "algorithm": self.algo,
            "workers": self.workers,
            "seed": self.seed,
            "persistence": self.persistence,
            **({"step_batch": self.batch} if self.algo == "rennala" else {}),
            **({"threshold": self.threshold, "abandon": self.abandon} if self.threshold else {}),
            "profile": self.profile.to_dict(),
            "source": "simulated",
        }
