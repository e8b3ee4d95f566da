"""Leashed-SGD's publish attempts by where they build: the profile's ``publish``,
``publish_cached`` and ``publish_retry`` (:mod:`staleness_sim.profile`).

A Leashed-SGD publish builds the new vector from the latest one and installs it with a
compare-and-swap. The Trace records each gradient's whole publish phase, ``t_apply -
t_grad_done``, and its attempts ``a``; the staleness ``tau`` says on which version the last
attempt built (``tau = 0``: the version the worker read). So the rows give:

* ``a = 1, tau = 0``: a first attempt on the version read, whose vector the worker's
  gradient has just run through (``publish_cached``);
* ``a = 1, tau >= 1``: a first attempt on a version another core wrote since (``publish``);
* ``a >= 2``: a failed first attempt, then ``a - 1`` attempts on versions another core
  has just written (``publish_retry``). The first attempt built on the version read if no
  other publish landed during the gradient (``t_read`` to ``t_grad_done``), else on a newer
  one; it is taken at the median of its kind, so each later attempt is
  ``(phase - median(kind)) / (a - 1)``, no shorter than the shortest first attempt.

A group needs :data:`ATTEMPTS_MIN` rows to be fitted, else it is left out (``None``) and
the simulator takes ``publish`` for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ATTEMPTS_MIN", "AttemptPhases", "attempt_phases", "per_attempt"]

#: Rows a group of attempts needs to be fitted.
ATTEMPTS_MIN = 20


@dataclass(frozen=True)
class AttemptPhases:
    """Publish-attempt samples (seconds) of each kind; ``None`` where too few were seen."""

    fresh: np.ndarray | None
    cached: np.ndarray | None
    retry: np.ndarray | None


def per_attempt(table: pd.DataFrame) -> np.ndarray:
    """Each row's publish phase over its attempts, ``(t_apply - t_grad_done) / max(a, 1)``:
    one timing for every attempt, whatever it built on (the profile's ``publish`` of every
    algorithm, and of Leashed-SGD where its attempts are not told apart)."""
    return ((table["t_apply"] - table["t_grad_done"]) / table["attempts"].clip(lower=1)).to_numpy(float)


def attempt_phases(table: pd.DataFrame) -> AttemptPhases:
    """The publish attempts of a Leashed-SGD Trace table, by kind (see the module docstring);
    dropped gradients are left out (their last attempt built on no version known here)."""
    kept = ~table["dropped"].to_numpy(bool)
    phase = (table["t_apply"] - table["t_grad_done"]).to_numpy(float)[kept]
    attempts = table["attempts"].to_numpy()[kept]
    tau = table["tau"].to_numpy()[kept]
    first = attempts == 1
    fresh = _enough(phase[first & (tau >= 1)])
    cached = _enough(phase[first & (tau == 0)])
    retry = None
    again = attempts >= 2
    if fresh is not None and cached is not None and int(again.sum()) >= ATTEMPTS_MIN:
        landed = np.sort(table["t_apply"].to_numpy(float)[kept])
        read, done = (table[c].to_numpy(float)[kept][again] for c in ("t_read", "t_grad_done"))
        on_read = np.searchsorted(landed, done) == np.searchsorted(landed, read, side="right")
        began = np.where(on_read, float(np.median(cached)), float(np.median(fresh)))
        retry = np.maximum((phase[again] - began) / (attempts[again] - 1), float(phase[first].min()))
    return AttemptPhases(fresh, cached, retry)


def _enough(samples: np.ndarray) -> np.ndarray | None:
    return samples if samples.size >= ATTEMPTS_MIN else None
