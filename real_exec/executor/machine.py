"""Facts about this machine for a Trace's metadata."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

__all__ = ["machine_info"]


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
        "cores_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "gil_enabled": bool(gil),
        "blas": [{"api": i.get("internal_api"), "threads": i.get("num_threads")} for i in threadpool_info()],
        "asgd": __version__,
    }
