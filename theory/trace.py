"""The Trace: one row per computed gradient, shared by simulated and real runs.

Versions: the initial parameters are version 0; each successful publish creates the next.
An update that read version ``r`` and was published as version ``v`` has staleness
``tau = v - 1 - r`` (the number of other updates published in between). Dropped gradients
have ``apply_version = tau = -1``. Times are seconds from the start of the run.

On disk a Trace is two files written atomically (temporary file, then rename):
``NAME.parquet`` (the table) and ``NAME.json`` (the metadata).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["COLUMNS", "Trace", "atomic_write", "atomic_write_text", "read_staleness"]

#: Column name -> dtype of the Trace table.
COLUMNS: dict[str, str] = {
    "worker": "int32",
    "read_version": "int64",
    "apply_version": "int64",
    "tau": "int64",
    "t_read": "float64",
    "t_grad_done": "float64",
    "t_apply": "float64",
    "attempts": "int32",
    "step_size": "float64",
    "dropped": "bool",
}


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: _write_text(tmp, text))


@dataclass(frozen=True, eq=False)
class Trace:
    """A table of per-gradient records (columns :data:`COLUMNS`) and run metadata."""

    table: pd.DataFrame
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"trace table lacks columns: {', '.join(missing)}")
        arrays = {c: self.table[c].to_numpy(dtype=dt) for c, dt in COLUMNS.items()}
        _validate(arrays)
        object.__setattr__(self, "table", pd.DataFrame(arrays, copy=False))
        object.__setattr__(self, "meta", dict(self.meta))

    @classmethod
    def from_columns(cls, meta: Mapping[str, Any] | None = None, **columns: npt.ArrayLike) -> Trace:
        """Build a Trace from column arrays (kept without a copy where the dtype matches).

        ``dropped`` defaults to ``apply_version < 0``. ``tau``, when omitted, is derived
        (``apply_version - 1 - read_version``, -1 for dropped rows); a given one is checked
        against the versions.
        """
        return cls._build(columns, meta, check=True)

    @classmethod
    def from_consistent_columns(
        cls, meta: Mapping[str, Any] | None = None, **columns: npt.ArrayLike
    ) -> Trace:
        """As :meth:`from_columns`, without checking a given ``tau`` against the versions: for
        producers that build the columns consistent by construction (and test that they do)."""
        return cls._build(columns, meta, check=False)

    @classmethod
    def _build(
        cls, columns: Mapping[str, npt.ArrayLike], meta: Mapping[str, Any] | None, check: bool
    ) -> Trace:
        cols = {k: np.asarray(v) for k, v in columns.items()}
        for name in ("read_version", "apply_version"):
            if name not in cols:
                raise ValueError(f"trace table lacks columns: {name}")
        apply_v = cols["apply_version"]
        if "dropped" not in cols:
            cols["dropped"] = apply_v < 0
        derive = "tau" not in cols
        if derive:
            tau = np.subtract(apply_v, cols["read_version"], dtype=np.int64)
            tau -= 1
            if cols["dropped"].any():
                tau[cols["dropped"]] = -1
            cols["tau"] = tau
        missing = [c for c in COLUMNS if c not in cols]
        if missing:
            raise ValueError(f"trace table lacks columns: {', '.join(missing)}")
        arrays = {c: cols[c].astype(dt, copy=False) for c, dt in COLUMNS.items()}
        _validate(arrays, check_tau=check and not derive)
        trace = cls.__new__(cls)
        object.__setattr__(trace, "table", pd.DataFrame(arrays, copy=False))
        object.__setattr__(trace, "meta", dict(meta or {}))
        return trace

    def __len__(self) -> int:
        return len(self.table)

    def staleness(self) -> npt.NDArray[np.int64]:
        """Staleness of the applied updates, in the order they were published."""
        applied = self.table[~self.table["dropped"]].sort_values("apply_version")
        return applied["tau"].to_numpy(dtype=np.int64)

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``PATH.parquet`` and ``PATH.json`` atomically; return both paths."""
        stem = _stem(path)
        parquet, meta = stem.with_suffix(".parquet"), stem.with_suffix(".json")
        atomic_write(parquet, lambda tmp: self.table.to_parquet(tmp, index=False))
        text = json.dumps(self.meta, indent=2, sort_keys=True, default=str)
        atomic_write_text(meta, text + "\n")
        return parquet, meta

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a Trace saved by :meth:`save` (give the stem, the .parquet or the .json)."""
        stem = _stem(path)
        parquet, meta = stem.with_suffix(".parquet"), stem.with_suffix(".json")
        if not parquet.exists():
            raise FileNotFoundError(f"no trace table at {parquet}")
        info = json.loads(meta.read_text()) if meta.exists() else {}
        return cls(pd.read_parquet(parquet), info)


def _validate(arrays: dict[str, npt.NDArray[Any]], check_tau: bool = True) -> None:
    dropped, tau, apply_v = arrays["dropped"], arrays["tau"], arrays["apply_version"]
    if dropped.any() and (np.any(apply_v[dropped] != -1) or np.any(tau[dropped] != -1)):
        raise ValueError("dropped rows must have apply_version = tau = -1")
    if not check_tau:
        return
    expected = np.subtract(apply_v, arrays["read_version"])  # one temporary, updated in place
    expected -= 1
    expected[dropped] = -1
    if not np.array_equal(tau, expected):
        raise ValueError("tau must equal apply_version - 1 - read_version for applied rows")


def _write_text(path: Path, text: str) -> None:
    path.write_text(text)


def _stem(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in {".parquet", ".json"} else p


def read_staleness(path: str | os.PathLike[str]) -> npt.NDArray[np.int64]:
    """Staleness samples from a saved Trace (``.parquet``/``.json``/stem) or a CSV file.

    A CSV gives one tau per row: either a column named ``tau`` or its single column.
    Negative values (dropped gradients) are skipped.
    """
    p = Path(path)
    if p.suffix == ".csv":
        frame = pd.read_csv(p)
        if "tau" in frame.columns:
            column = frame["tau"]
        elif frame.shape[1] == 1:
            column = frame.iloc[:, 0]
        else:
            raise ValueError(f"{p}: a CSV needs a 'tau' column or exactly one column")
        values = pd.to_numeric(column, errors="raise").to_numpy()
        if np.any(values != np.round(values)):
            raise ValueError(f"{p}: staleness values must be integers")
        values = values.astype(np.int64)
        return values[values >= 0]
    return Trace.load(p).staleness()
