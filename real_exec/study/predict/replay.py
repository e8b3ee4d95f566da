"""Replay training in a schedule: each gradient on the version it read, applied in publish order.

A Trace (simulated or measured) says, for every gradient, which parameter version it read and
which version it became. Replaying it runs the model's actual SGD sequentially in that
schedule: update ``k`` (in publish order) computes its gradient on version ``read_version``,
kept in memory while some later update still reads it (as Leashed-SGD keeps them), scales it
by ``eta * s(tau)`` and applies it to the latest version; rows with the same ``apply_version``
(a synchronous round) average their gradients into one update; dropped gradients change
nothing. For lock-based SGD and Leashed-SGD (consistent reads) this is exactly the
algorithm's arithmetic under that schedule; for HOGWILD! it approximates the inconsistent
reads by consistent stale ones, and an update whose write overlaps another's loses a stretch
of ``lost_on_overlap`` of its coordinates (:mod:`real_exec.study.predict.lost_updates`). The loss
is evaluated at the publish times of the schedule, so the curve is against the schedule's
(simulated) time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from real_exec.executor.kernels import copy_into, descend, seed_thread
from real_exec.executor.monitor import Judge, Target, diverged
from real_exec.executor.problems import Problem
from real_exec.study.predict.lost_updates import lost_stretch, overlapping_writes
from theory.trace import Trace

__all__ = ["Replay", "replay"]


@dataclass(frozen=True, eq=False)
class Replay:
    """The loss curve of a replayed schedule and whether and when it reached the target."""

    curve: pd.DataFrame
    params: np.ndarray
    updates: int
    reached: tuple[float, int] | None
    diverged: bool
    replay_seconds: float


def _last_reader(read: np.ndarray, order: np.ndarray) -> dict[int, int]:
    """Version -> the last position (in ``order``) of an update that reads it."""
    last: dict[int, int] = {}
    for position, row in enumerate(order):
        last[int(read[row])] = position
    return last


def _rounds(version: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(i, j)``: the rows ``i .. j - 1`` of one update (one row, or a synchronous round,
    whose rows share their ``apply_version``), in publish order."""
    i = 0
    while i < version.size:
        j = i
        while j < version.size and version[j] == version[i]:
            j += 1
        yield i, j
        i = j


class _Versions:
    """The parameter versions later updates still read: each is kept from its publication
    until its last reader (:func:`_last_reader`) has read it."""

    def __init__(self, read: np.ndarray, initial: np.ndarray) -> None:
        self.read = read
        self.last = _last_reader(read, np.arange(read.size))
        self.kept: dict[int, np.ndarray] = {0: initial.copy()}
        self.free: list[np.ndarray] = []  # buffers of versions no longer read, to reuse

    def points(self, i: int, j: int) -> list[np.ndarray]:
        """The versions rows ``i .. j - 1`` read."""
        return [self.kept[int(r)] for r in self.read[i:j]]

    def published(self, i: int, j: int, version: int, params: np.ndarray) -> None:
        """Rows ``i .. j - 1`` published ``version`` (``params``)."""
        for k in range(i, j):
            if self.last.get(int(self.read[k])) == k:
                done = self.kept.pop(int(self.read[k]), None)  # no later update reads it
                if done is not None:
                    self.free.append(done)
        if version in self.last:
            kept = self.free.pop() if self.free else np.empty_like(params)
            copy_into(kept, params)
            self.kept[version] = kept


def _round_step(
    problem: Problem,
    points: list[np.ndarray],
    workers: np.ndarray,
    tau: np.ndarray,
    scale: Callable[[int], float] | None,
    velocity: dict[int, np.ndarray],
    momentum: float,
    grad: np.ndarray,
    total: np.ndarray,
) -> None:
    """``total = mean_k s(tau_k) d_k`` over one update's rows (one row, or a synchronous
    round): ``d_k`` the gradient at the point row ``k`` read, or with ``momentum`` its
    worker's velocity ``v = momentum v + g``; ``s = 1`` without ``scale``."""
    total[:] = 0.0
    for point, worker, t in zip(points, workers, tau, strict=True):
        _direction(problem, point, int(worker), velocity, momentum, grad)
        total += (scale(int(t)) if scale is not None else 1.0) * grad
    total /= len(points)


def _direction(
    problem: Problem,
    point: np.ndarray,
    worker: int,
    velocity: dict[int, np.ndarray],
    momentum: float,
    grad: np.ndarray,
) -> None:
    """``grad``: the gradient at ``point``, or with ``momentum`` ``worker``'s velocity
    ``v = momentum v + g`` (heavy ball, one velocity per worker)."""
    problem.grad(point, grad)
    if momentum > 0:
        v = velocity.setdefault(worker, np.zeros_like(grad))
        v *= momentum
        v += grad
        grad[:] = v


class _Updates:
    """How the replay applies one update (one row, or a synchronous round): a single
    gradient applied whole in one pass, ``params -= eta * (s * d)``; a round, or a HOGWILD!
    write that met another (``overlapped``) and loses a stretch of ``lost_on_overlap`` of its
    coordinates, through the averaged ``total`` (:func:`_round_step`)."""

    def __init__(
        self,
        problem: Problem,
        eta: float,
        momentum: float,
        params: np.ndarray,
        lost_on_overlap: float,
        overlapped: np.ndarray | None,
        seed: int,
    ) -> None:
        self.problem, self.eta, self.momentum = problem, eta, momentum
        self.lost_on_overlap, self.overlapped = lost_on_overlap, overlapped
        self.losing = np.random.default_rng([seed, 1]) if lost_on_overlap > 0 else None
        self.grad, self.total = np.empty_like(params), np.zeros_like(params)
        self.velocity: dict[int, np.ndarray] = {}

    def apply(
        self,
        params: np.ndarray,
        points: list[np.ndarray],
        workers: np.ndarray,
        tau: np.ndarray,
        rule: Callable[[int], float] | None,
        row: int,
    ) -> None:
        """Apply the update of rows ``row ..`` (``len(points)`` of them) to ``params``."""
        grad, total = self.grad, self.total
        single = len(points) == 1
        loses = single and self.overlapped is not None and bool(self.overlapped[row])
        if single and not loses:
            _direction(self.problem, points[0], int(workers[0]), self.velocity, self.momentum, grad)
            descend(params, self.eta, rule(int(tau[0])) if rule is not None else 1.0, grad)
            return
        _round_step(self.problem, points, workers, tau, rule, self.velocity, self.momentum, grad, total)
        total *= self.eta
        if loses:  # a stretch of it overwritten by another write
            assert self.losing is not None
            total[lost_stretch(self.losing, params.size, self.lost_on_overlap)] = 0.0
        params -= total


def replay(
    trace: Trace,
    problem: Problem,
    eta: float,
    scale: Callable[[int], float] | None = None,
    *,
    seed: int = 0,
    target: Target | None = None,
    evaluate_every: float | None = None,
    until: float | None = None,
    initial: np.ndarray | None = None,
    momentum: float = 0.0,
    warmup_updates: int = 0,
    lost_on_overlap: float = 0.0,
) -> Replay:
    """Replay ``trace``'s schedule on ``problem`` (see the module docstring).

    ``scale(tau)`` is the step-size rule's factor (default 1), used from update
    ``warmup_updates`` on (before it, as during a real run's warm-up, the factor is 1);
    ``momentum`` is heavy-ball momentum with one velocity per worker, as in real runs. The
    loss is evaluated every ``evaluate_every`` seconds of schedule time (default: 50 points
    over the schedule); the replay stops at the ``target``, when the loss diverges (NaN,
    infinite or 10x the initial), or at schedule time ``until``. ``initial`` defaults to
    ``problem.init`` with ``seed``. With ``lost_on_overlap > 0`` every single-row update
    whose write overlaps another's (:func:`~real_exec.study.predict.lost_updates.overlapping_writes`)
    leaves a stretch of that fraction of its coordinates unapplied (HOGWILD!'s lost updates).
    """
    started = time.perf_counter()
    rows = trace.applied()
    read = rows["read_version"].to_numpy()
    version = rows["apply_version"].to_numpy()
    tau = rows["tau"].to_numpy()
    workers = rows["worker"].to_numpy()
    t_apply = rows["t_apply"].to_numpy()
    # HOGWILD!'s lost updates: which writes met another
    overlapped = overlapping_writes(trace)[rows.index.to_numpy()] if lost_on_overlap > 0 else None
    end = float(t_apply[-1]) if len(rows) else 0.0
    step_every = evaluate_every if evaluate_every is not None else max(end / 50, 1e-12)
    seed_thread(int(np.random.SeedSequence(seed).generate_state(1)[0] % (2**31)))
    params = (initial if initial is not None else problem.init(np.random.default_rng(seed))).copy()
    versions = _Versions(read, params)
    step = _Updates(problem, eta, momentum, params, lost_on_overlap, overlapped, seed)
    curve = [{"time": 0.0, **problem.evaluate(params)}]
    initial_loss = curve[0]["loss"]
    next_eval = step_every
    reached: tuple[float, int] | None = None
    blew_up = False
    judge = Judge(target, problem, step_every) if target is not None else None
    if judge is not None:
        judge.fix_cost(params)  # the crossings skipped after a "no", fixed as a real run fixes them
    updates = gradients = 0
    for i, j in _rounds(version):
        if until is not None and t_apply[i] > until:
            break
        rule = scale if scale is not None and updates >= warmup_updates else None
        step.apply(params, versions.points(i, j), workers[i:j], tau[i:j], rule, i)
        updates, gradients = updates + 1, gradients + (j - i)
        now = float(t_apply[j - 1])
        versions.published(i, j, int(version[i]), params)
        on_time = now >= next_eval  # a check of the target, as a real run's monitor makes them
        if on_time or j == len(rows):  # the schedule's end: a point of the curve, not a check
            point = problem.evaluate(params)
            curve.append({"time": now, **point})
            next_eval = now + step_every if on_time else next_eval
            if diverged(point["loss"], initial_loss):
                blew_up = True
                break
            if on_time and judge is not None and judge.reached(params, point, initial_loss):
                reached = (now, gradients)  # counted as a real run counts: gradients, not rounds
                break
    return Replay(pd.DataFrame(curve), params, updates, reached, blew_up, time.perf_counter() - started)
