"""Run one real execution: start the worker threads, sample the loss, collect the Trace."""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from real_exec.executor.algorithms import LOOPS
from real_exec.executor.algorithms.steps import ABORT, GO_ON, STOP, STOPPED, WARMED_UP
from real_exec.executor.config import RunConfig
from real_exec.executor.kernels import seed_thread
from real_exec.executor.machine import machine_info
from real_exec.executor.monitor import Monitor, Target
from real_exec.executor.native import tight_timer_slack
from real_exec.executor.problems import Problem
from real_exec.executor.quiet_start import Start, wait_until_quiet
from real_exec.executor.recorder import cpu_times, to_trace
from real_exec.executor.run_context import RunContext
from real_exec.executor.stolen_time import core_times, stolen_fraction
from real_exec.executor.warmup import compile_kernels
from theory.analysis import summarize
from theory.rennala import drop_unfinished
from theory.trace import Trace, atomic_write, atomic_write_text

__all__ = ["RunResult", "WorkerError", "run"]


class WorkerError(RuntimeError):
    """A worker thread raised: the message is one line (``worker N failed: the exception``),
    ``traceback`` the worker's whole traceback."""

    def __init__(self, worker: int, traceback_text: str) -> None:
        last = traceback_text.strip().splitlines()[-1] if traceback_text.strip() else "unknown error"
        super().__init__(f"worker {worker} failed: {last}")
        self.worker = worker
        self.traceback = traceback_text


@dataclass(frozen=True, eq=False)
class RunResult:
    """A real run: its Trace, loss curve, final evaluation and parameters, and what it cost.

    ``lost_update_norm`` is ``||params - (initial - sum of applied steps)||`` (``None``
    without ``check_updates``): 0 up to rounding when no update was lost.
    ``lost_update_share`` is the share of the applied steps' sum ``S`` missing from the
    parameters, ``<params - (initial - S), S> / ||S||^2``: 0 when every update landed, 1 when
    none did, ``q`` in expectation when each step's coordinates are lost independently with
    probability ``q`` (HOGWILD!'s unsynchronized updates overwriting each other).
    """

    trace: Trace
    curve: pd.DataFrame
    final: dict[str, float]
    initial: np.ndarray
    params: np.ndarray
    lost_update_norm: float | None
    peak_live_vectors: int
    wall_time: float
    interrupted: bool = False
    machine: dict[str, Any] = field(default_factory=dict)
    counted: int = 0  # gradients counted by the workers (equals the Trace rows when recording)
    gradient_cpu: np.ndarray = field(default_factory=lambda: np.empty(0))  # thread CPU s per gradient
    epochs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["epoch", "time", "loss"]))
    reached: tuple[float, int] | None = None  # (seconds, gradients) when the target was reached
    diverged: bool = False
    worker_cpu: float = float("nan")  # thread CPU seconds of all worker threads together
    stolen: float = float("nan")  # fraction of the cores' time the hypervisor took meanwhile
    lost_update_share: float | None = None
    main_cpu: float = float("nan")  # thread CPU seconds of the main thread meanwhile (its checks)

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``asgd run``: :func:`theory.analysis.summarize` of the Trace
        and the run's own numbers. Without a Trace (``record=False``) the throughput is the
        counted gradients over the wall time."""
        recorded = len(self.trace) > 0
        s = summarize(self.trace)
        out = {
            "updates": s["updates"] if recorded else self.counted,
            "gradients": s["gradients"] if recorded else self.counted,
            "throughput": s["throughput"] if recorded else _rate(self.counted, self.wall_time),
            "tau_mean": s["tau_mean"],
            "tau_pmf": s["tau_pmf"],
            "cas_failures": s["cas_failures"],
            "dropped": s["dropped"],
            "peak_live_vectors": self.peak_live_vectors,
            "final_loss": self.final.get("loss"),
            "lost_update_norm": self.lost_update_norm,
            "lost_update_share": self.lost_update_share,
            "wall_time": self.wall_time,
            "stolen": self.stolen if np.isfinite(self.stolen) else None,
            "interrupted": self.interrupted,
            "machine": self.machine,
        }
        if "accuracy" in self.final:
            out["test_accuracy"] = self.final["accuracy"]
        if "test_loss" in self.final:
            out["test_loss"] = self.final["test_loss"]
        out["diverged"] = self.diverged
        if "data_source" in self.trace.meta:
            out["data_source"] = self.trace.meta["data_source"]
        if self.reached is not None:
            out["time_to_target"], out["updates_to_target"] = self.reached
        if len(self.epochs):
            out["epoch_loss"] = self.epochs["loss"].tolist()
            out["epoch_time"] = self.epochs["time"].tolist()
        return out

    def save(self, out: str | Path) -> list[Path]:
        """Write the Trace, the loss/accuracy curve (``curve.parquet`` + ``curve.json``) and a
        plot (``run.png``: loss and accuracy over time, staleness pmf) to ``out``."""
        from real_exec.executor.plots import plot_curve
        from theory.plots import new_figure, plot_staleness, save_figure

        out = Path(out)
        files = list(self.trace.save(out / "trace"))
        curve = self.curve
        atomic_write(out / "curve.parquet", lambda tmp: curve.to_parquet(tmp, index=False))
        epochs = {k: self.epochs[k].tolist() for k in self.epochs.columns}
        text = json.dumps({"columns": list(curve.columns), "final": self.final, "epochs": epochs}, indent=2)
        atomic_write_text(out / "curve.json", text)
        fig = new_figure(9.0, 3.6)
        ax1, ax2 = fig.subplots(1, 2)
        plot_curve(ax1, curve)
        plot_staleness(ax2, self.trace)
        return [*files, out / "curve.parquet", out / "curve.json", save_figure(fig, out / "run.png")]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")


def _compile(loop: Any, arguments: tuple[Any, ...]) -> None:
    """Compile the worker loop for this run's types before the clock starts: a call whose
    control block (the first entry of the run's tuple, the next-to-last argument) says stop
    returns before its first gradient."""
    *head, run, mine = arguments
    ctrl = run[0].copy()
    ctrl[STOP], ctrl[GO_ON] = 1, 0
    loop(*head, (ctrl, *run[1:]), mine)


class _Workers:
    """The run's threads: each calls its compiled loop until the loop says the run stopped,
    doing in Python what the loop returned for (a new buffer, the end of the warm-up)."""

    def __init__(self, ctx: RunContext, shared: Any, loop: Any, seeds: list[np.random.SeedSequence]) -> None:
        self.ctx, self.shared, self.loop, self.seeds = ctx, shared, loop, seeds
        m = ctx.config.threads
        self.errors: list[tuple[int, str]] = []
        self.cpu = [0.0] * m
        self.finished = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self._body, args=(i,), daemon=True) for i in range(m)]

    def compile(self) -> None:
        args = self.ctx.arguments(
            0, self.shared, self.ctx.problem.workspace(), self.ctx.gradient_buffer(0, self.shared)
        )
        _compile(self.loop, args)

    def _body(self, i: int) -> None:
        ctx, start = self.ctx, time.thread_time()
        try:
            seed_thread(int(self.seeds[i].generate_state(1)[0] % (2**31)))
            if ctx.config.slow_mode == "sleep":
                tight_timer_slack()
            ws, grad = ctx.problem.workspace(), ctx.gradient_buffer(i, self.shared)
            while True:
                status = self.loop(*ctx.arguments(i, self.shared, ws, grad))
                ctx.recorders[i].make_room()
                if status == WARMED_UP:
                    ctx.end_warmup()
                elif status == STOPPED:
                    break
        except BaseException:
            self.errors.append((i, traceback.format_exc()))
            ctx.ctrl[ABORT] = 1
            ctx.halt()
        finally:
            self.cpu[i] = time.thread_time() - start
            self.finished.release()

    def start(self) -> None:
        """Start the threads and open the gate once every one waits at it."""
        for t in self.threads:
            t.start()
        while self.ctx.ready() < len(self.threads) and not self.errors:
            time.sleep(0.0002)
        self.ctx.open_gate()

    def stop(self) -> None:
        """Stop every started worker (Ctrl-C) and wait for them."""
        self.ctx.ctrl[ABORT] = 1
        self.ctx.halt()
        self.join()

    def join(self) -> None:
        for t in self.threads:
            if t.ident is not None:  # started
                t.join()


def _supervise(
    workers: _Workers, monitor: Monitor, seconds: float | None, progress: Callable[[float], None] | None
) -> bool:
    """The main thread while the workers run: the deadline, the loss curve, progress; True
    when Ctrl-C ended the run."""
    ctx, running = workers.ctx, len(workers.threads)
    try:  # Ctrl-C may come while the threads start
        workers.start()
        while running:
            elapsed = ctx.now()
            if seconds is not None and elapsed >= seconds:
                ctx.halt()
            monitor.tick(elapsed)
            if progress is not None:
                progress(elapsed)
            wait = min(0.05, max(monitor.next_sample - ctx.now(), 0.001))
            if seconds is not None and not ctx.halted:
                wait = min(wait, max(seconds - ctx.now(), 0.0))
            while running and workers.finished.acquire(timeout=wait):  # a worker ended
                running, wait = running - 1, 0.0
        workers.join()
    except KeyboardInterrupt:
        workers.stop()
        return True
    return False


def _lost_updates(
    ctx: RunContext, initial: np.ndarray, params: np.ndarray
) -> tuple[float | None, float | None]:
    """``(lost_update_norm, lost_update_share)`` (see :class:`RunResult`); ``None`` unchecked."""
    if ctx.applied is None:
        return None, None
    applied = np.sum(ctx.applied, axis=0)
    missing = params.astype(np.float64) - (initial.astype(np.float64) - applied)
    norm2 = float(applied @ applied)
    return float(np.linalg.norm(missing)), (float(missing @ applied) / norm2 if norm2 > 0 else 0.0)


def _closed_steps(trace: Trace, config: RunConfig) -> Trace:
    """Rennala SGD's Trace with the gradients of a last step that never completed dropped
    (:func:`theory.rennala.drop_unfinished`); any other Trace as it is."""
    if config.algo != "rennala" or len(trace) == 0:
        return trace
    columns = {c: trace.table[c].to_numpy(copy=True) for c in trace.table.columns}
    drop_unfinished(columns, config.batch)
    return Trace.from_columns(meta=trace.meta, **columns)


def _meta(
    config: RunConfig, problem: Problem, interrupted: bool, machine: dict[str, Any], start: Start
) -> dict[str, Any]:
    """The Trace metadata of a real run (``start_wait``: seconds the start waited for the
    process's other threads to leave the cores; ``start_busy``: how many of them were still
    running on average then, see :mod:`real_exec.executor.quiet_start`)."""
    return {
        "algorithm": config.algo,
        "workers": config.threads,
        "seed": config.seed,
        "problem": problem.name,
        "stepsize": config.rule,
        "eta0": config.eta,
        "persistence": config.persistence,
        **({"step_batch": config.batch} if config.algo == "rennala" else {}),
        **({"threshold": config.discard_at} if config.discard_at is not None else {}),
        "source": "real",
        "worker_loop": "compiled",
        "machine": machine,
        "dtype": str(problem.dtype),
        "interrupted": interrupted,
        "momentum": config.momentum,
        "epochs": config.epochs,
        "batch": problem.batch,
        "speeds": list(config.worker_speeds()),
        "slow_mode": config.slow_mode,
        "start_wait": start.waited,
        "start_busy": start.busy,
        **{
            k: problem.info[k]
            for k in ("model", "dataset", "layers", "init", "data_source")
            if k in problem.info
        },
    }


def run(
    config: RunConfig,
    problem: Problem,
    progress: Callable[[float], None] | None = None,
    target: Target | None = None,
    live_curve: bool = False,
) -> RunResult:
    """Run ``config`` on ``problem``; a worker's exception is re-raised as :class:`WorkerError`.

    Each thread runs its algorithm's compiled loop (:data:`real_exec.executor.algorithms.LOOPS`),
    which leaves the interpreter until the run stops. With a ``target`` the run stops when it
    reaches it (``reached``, ``time_to_target``). Without one the curve's points are
    evaluated after the run, unless ``live_curve`` (:class:`~real_exec.executor.monitor.Monitor`).
    A run whose loss becomes NaN, infinite or 10x its initial value stops at once
    (``diverged``). Ctrl-C stops the workers and returns what was recorded (``interrupted=True``).

    The main thread's numerical work uses one core throughout the call (threadpoolctl), so
    that no thread of a multi-threaded BLAS runs beside the workers or spins on a core after
    the call; the workers start once the threads of work before the call are off the cores
    (:mod:`real_exec.executor.quiet_start`: ``start_wait`` and ``start_busy`` in the Trace's
    metadata).
    """
    with threadpool_limits(limits=1):
        return _run(config, problem, progress, target, live_curve)


def _run(
    config: RunConfig,
    problem: Problem,
    progress: Callable[[float], None] | None,
    target: Target | None,
    live_curve: bool = False,
) -> RunResult:
    """:func:`run` with the main thread's BLAS on one thread."""
    init_seq, *worker_seqs = np.random.SeedSequence(config.seed).spawn(config.threads + 1)
    initial = problem.init(np.random.default_rng(init_seq))
    compile_kernels(str(initial.dtype))  # compile before the clock starts
    problem.grad(initial.copy(), np.empty_like(initial))
    problem.evaluate(initial)
    make_state, loop = LOOPS[config.algo]
    shared = make_state(initial, config)
    ctx = RunContext(config, problem)
    workers = _Workers(ctx, shared, loop, worker_seqs)
    workers.compile()
    interval = config.sample_every or (config.seconds / 10 if config.seconds else 0.5)
    monitor = Monitor(problem, ctx, shared.snapshot, interval, target, live=live_curve)
    start = wait_until_quiet()
    ticks, main = core_times(), time.thread_time()
    interrupted = _supervise(workers, monitor, config.seconds, progress)
    wall = ctx.now()
    stolen = stolen_fraction(ticks, core_times())
    main_cpu = time.thread_time() - main
    if workers.errors:
        worker_id, tb = workers.errors[0]
        raise WorkerError(worker_id, tb)
    params = np.array(shared.final(), copy=True)
    final = (problem.evaluate_final or problem.evaluate)(params)
    monitor.finish(wall, params, final)
    curve, epochs = monitor.frames()
    lost, lost_share = _lost_updates(ctx, initial, params)
    machine = machine_info()
    meta = _meta(config, problem, interrupted, machine, start)
    return RunResult(
        trace=_closed_steps(to_trace(ctx.recorders, meta), config),
        curve=curve,
        final=final,
        initial=initial,
        params=params,
        lost_update_norm=lost,
        # Lock-based workers each keep a private copy next to the shared vector.
        # and Rennala's workers an accumulator besides.
        peak_live_vectors={"lock": config.threads + 1, "rennala": config.threads + 2}.get(
            config.algo, ctx.peak_live
        ),
        wall_time=wall,
        interrupted=interrupted,
        machine=machine,
        counted=ctx.counted(),
        gradient_cpu=cpu_times(ctx.recorders),
        epochs=epochs,
        reached=monitor.reached,
        diverged=monitor.diverged,
        worker_cpu=float(sum(workers.cpu)),
        stolen=stolen,
        lost_update_share=lost_share,
        main_cpu=main_cpu,
    )
