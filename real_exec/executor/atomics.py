"""Atomic operations on int64 array slots, compiled to LLVM atomics through numba.

``cas(a, i, expected, new)`` is a real compare-and-swap (LLVM ``cmpxchg``, sequentially
consistent): it stores ``new`` in ``a[i]`` only if ``a[i] == expected`` and returns whether
it did. ``fetch_add`` is ``atomicrmw add``; ``load`` is an atomic load. All are
``nogil`` and may be called from Python threads running in parallel.
"""

from __future__ import annotations

from typing import Any

from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["cas", "fetch_add", "load"]


def _slot_pointer(context: Any, builder: Any, aryty: Any, arr: Any, idx: Any) -> Any:
    ary = context.make_array(aryty)(context, builder, arr)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False)


@intrinsic
def _cmpxchg(typingctx: Any, arr: Any, idx: Any, expected: Any, new: Any) -> Any:
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.boolean(arr, types.intp, types.int64, types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        arr_v, idx_v, exp_v, new_v = args
        ptr = _slot_pointer(context, builder, signature.args[0], arr_v, idx_v)
        pair = builder.cmpxchg(ptr, exp_v, new_v, "seq_cst", "seq_cst")
        return builder.extract_value(pair, 1)

    return sig, codegen


@intrinsic
def _atomic_add(typingctx: Any, arr: Any, idx: Any, delta: Any) -> Any:
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        arr_v, idx_v, delta_v = args
        ptr = _slot_pointer(context, builder, signature.args[0], arr_v, idx_v)
        return builder.atomic_rmw("add", ptr, delta_v, "seq_cst")

    return sig, codegen


@intrinsic
def _atomic_load(typingctx: Any, arr: Any, idx: Any) -> Any:
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        arr_v, idx_v = args
        ptr = _slot_pointer(context, builder, signature.args[0], arr_v, idx_v)
        return builder.load_atomic(ptr, "seq_cst", 8)

    return sig, codegen


@njit(nogil=True, cache=True)
def cas(a: Any, i: int, expected: int, new: int) -> bool:
    """Atomically: ``if a[i] == expected: a[i] = new; return True`` else ``False``."""
    return _cmpxchg(a, i, expected, new)  # type: ignore[call-arg]


@njit(nogil=True, cache=True)
def fetch_add(a: Any, i: int, delta: int) -> int:
    """Atomically add ``delta`` to ``a[i]``; return the value before the addition."""
    return _atomic_add(a, i, delta)  # type: ignore[call-arg]


@njit(nogil=True, cache=True)
def load(a: Any, i: int) -> int:
    """Atomically read ``a[i]``."""
    return _atomic_load(a, i)  # type: ignore[call-arg]
