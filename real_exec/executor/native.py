"""Operating-system calls from compiled code: clocks, a mutex, yielding the core.

The worker loops run from start to stop without the interpreter, so what they need of the
operating system they call directly, as the authors' C++ does:

* :func:`monotonic` -- ``clock_gettime(CLOCK_MONOTONIC)`` in seconds, the clock of
  :func:`now` and of ``time.perf_counter`` on Linux, so that worker and main-thread times
  share one origin;
* :func:`thread_cpu` -- ``clock_gettime(CLOCK_THREAD_CPUTIME_ID)``, the calling thread's CPU
  seconds (``time.thread_time``);
* :func:`mutex_lock` / :func:`mutex_unlock` -- a POSIX ``pthread_mutex_t`` of default type,
  which is what ``std::mutex`` is on Linux and macOS: a thread that cannot take it sleeps in
  the kernel (a futex on Linux) rather than spinning. :class:`Mutex` owns its memory;
  compiled code is given its address;
* :func:`yield_core` -- ``sched_yield()``, for the barrier's waiting threads;
* :func:`sleep_until` -- ``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)``: the thread
  leaves its core until a :func:`monotonic` time (a slow worker's ``sleep`` mode). Linux
  wakes a sleeping thread up to its timer slack late (50 us by default);
  :func:`tight_timer_slack` sets the calling thread's to 1 ns.

Each is an LLVM call to the C library's symbol by name (numba ``@intrinsic``), resolved
when the code is loaded; nothing is bound to an address at compile time, so the functions
that use them can be cached on disk. POSIX systems only (Linux, macOS).
"""

from __future__ import annotations

import ctypes
import time
from functools import cache
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = [
    "Mutex",
    "monotonic",
    "mutex_lock",
    "mutex_unlock",
    "now",
    "sleep_until",
    "thread_cpu",
    "tight_timer_slack",
    "yield_core",
]

_MONOTONIC = time.CLOCK_MONOTONIC
_THREAD_CPU = time.CLOCK_THREAD_CPUTIME_ID
_I32, _I64 = ir.IntType(32), ir.IntType(64)
_VOIDP = ir.IntType(8).as_pointer()


@intrinsic
def _clock_gettime(typingctx: Any, clock_id: Any) -> Any:
    """``clock_gettime(clock_id, &ts)`` as float seconds (``ts``: two 64-bit integers)."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        timespec = ir.LiteralStructType([_I64, _I64])
        fnty = ir.FunctionType(_I32, [_I32, timespec.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        ts = cgutils.alloca_once(builder, timespec)
        builder.call(fn, [builder.trunc(args[0], _I32), ts])
        double = ir.DoubleType()
        sec = builder.sitofp(builder.load(cgutils.gep_inbounds(builder, ts, 0, 0)), double)
        nsec = builder.sitofp(builder.load(cgutils.gep_inbounds(builder, ts, 0, 1)), double)
        return builder.fadd(sec, builder.fmul(nsec, ir.Constant(double, 1e-9)))

    return sig, codegen


def _pointer_call(name: str) -> Any:
    """An intrinsic ``int name(void *)`` taking the address as an int64."""

    @intrinsic
    def call(typingctx: Any, address: Any) -> Any:
        sig = types.int32(types.int64)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_I32, [_VOIDP]), name)
            return builder.call(fn, [builder.inttoptr(args[0], _VOIDP)])

        return sig, codegen

    return call


_lock = _pointer_call("pthread_mutex_lock")
_unlock = _pointer_call("pthread_mutex_unlock")


@intrinsic
def _sched_yield(typingctx: Any) -> Any:
    sig = types.int32()

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_I32, []), "sched_yield")
        return builder.call(fn, [])

    return sig, codegen


@intrinsic
def _clock_nanosleep(typingctx: Any, clock_id: Any, seconds: Any) -> Any:
    """``clock_nanosleep(clock_id, TIMER_ABSTIME, &ts, NULL)`` until ``seconds`` of that clock."""
    sig = types.int32(types.int64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        timespec = ir.LiteralStructType([_I64, _I64])
        fnty = ir.FunctionType(_I32, [_I32, _I32, timespec.as_pointer(), timespec.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_nanosleep")
        ts = cgutils.alloca_once(builder, timespec)
        double = ir.DoubleType()
        sec = builder.fptosi(args[1], _I64)
        frac = builder.fsub(args[1], builder.sitofp(sec, double))
        nsec = builder.fptosi(builder.fmul(frac, ir.Constant(double, 1e9)), _I64)
        builder.store(sec, cgutils.gep_inbounds(builder, ts, 0, 0))
        builder.store(nsec, cgutils.gep_inbounds(builder, ts, 0, 1))
        null = ir.Constant(timespec.as_pointer(), None)
        return builder.call(fn, [builder.trunc(args[0], _I32), ir.Constant(_I32, _TIMER_ABSTIME), ts, null])

    return sig, codegen


_TIMER_ABSTIME = 1
_PR_SET_TIMERSLACK = 29


@njit(nogil=True, cache=True)
def monotonic() -> float:
    """Seconds of ``CLOCK_MONOTONIC`` (the origin is arbitrary; differences are wall time)."""
    return _clock_gettime(_MONOTONIC)  # type: ignore[call-arg]


@njit(nogil=True, cache=True)
def thread_cpu() -> float:
    """CPU seconds the calling thread has used (time it was preempted is not counted)."""
    return _clock_gettime(_THREAD_CPU)  # type: ignore[call-arg]


@njit(nogil=True, cache=True)
def mutex_lock(address: int) -> None:
    """Take the mutex at ``address`` (a :class:`Mutex`'s), sleeping until it is free."""
    _lock(address)


@njit(nogil=True, cache=True)
def mutex_unlock(address: int) -> None:
    _unlock(address)


@njit(nogil=True, cache=True)
def yield_core() -> None:
    """Let another runnable thread have this core (``sched_yield``)."""
    _sched_yield()  # type: ignore[call-arg]


@njit(nogil=True, cache=True)
def sleep_until(deadline: float) -> None:
    """Sleep off the core until :func:`monotonic` reads ``deadline`` (again if interrupted)."""
    while _clock_nanosleep(_MONOTONIC, deadline) != 0:  # type: ignore[call-arg]
        pass


def tight_timer_slack() -> bool:
    """Let the calling thread's sleeps end on time: Linux's ``prctl(PR_SET_TIMERSLACK, 1)``
    (1 ns instead of 50 us). False where the system has no such call."""
    try:
        return int(_libc().prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(1), 0, 0, 0)) == 0
    except AttributeError:
        return False


def now() -> float:
    """:func:`monotonic` from Python: ``time.clock_gettime(CLOCK_MONOTONIC)``."""
    return time.clock_gettime(_MONOTONIC)


class Mutex:
    """A ``pthread_mutex_t`` (default attributes) in memory this object owns; ``address`` is
    what compiled code takes. It must outlive every thread that uses it."""

    _BYTES = 128  # larger than pthread_mutex_t on every platform (40 on Linux x86-64, 64 on macOS)

    def __init__(self) -> None:
        self._memory = np.zeros(self._BYTES // 8, dtype=np.int64)
        self.address = int(self._memory.ctypes.data)
        if _libc().pthread_mutex_init(ctypes.c_void_p(self.address), None) != 0:
            raise OSError("pthread_mutex_init failed")

    def __del__(self) -> None:
        _libc().pthread_mutex_destroy(ctypes.c_void_p(self.address))


@cache
def _libc() -> Any:
    return ctypes.CDLL(None)
