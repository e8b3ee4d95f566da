"""Facts about this machine for a Trace's metadata."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

__all__ = ["machine_info", "usable_cores"]


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (``taskset``, a container's
    cpuset), else every core of the machine. Threads beyond it time-share the cores."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """CPU model, cores, Python/numpy/numba versions, GIL state, BLAS threads."""
    import numba
    import numpy as np
    from threadpoolctl import threadpool_info

    from theory.version import __version__

    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_available": usable_cores(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "gil_enabled": bool(gil),
        "blas": [{"api": i.get("internal_api"), "threads": i.get("num_threads")} for i in threadpool_info()],
        "asgd": __version__,
    }
