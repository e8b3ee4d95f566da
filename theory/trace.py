"""The Trace: one row per computed gradient, shared by simulated and real runs.

Versions: the initial parameters are version 0; each successful publish creates the next.
An update that read version ``r`` and was published as version ``v`` has staleness
``tau = v - 1 - r`` (the number of other updates published in between). Dropped gradients
have ``apply_version = tau = -1``. Times are seconds from the start of the run.

The columns are declared once, here (:data:`COLUMNS`); simulators and recorders take their
column names, order and dtypes from this table. What a Trace says (throughput, staleness
pmf, CAS statistics) is in :mod:`theory.analysis`.

On disk a Trace is two files, ``NAME.parquet`` (the table) and ``NAME.json`` (the
metadata). Both are written to temporary files first and renamed into place only when both
are complete, and the Parquet file's schema metadata holds a digest of the metadata
(``asgd.meta_sha256``, SHA-256 of its canonical JSON): a crash between the two renames
leaves a pair that :meth:`Trace.load` recognizes as mismatched instead of silently mixing
two runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "COLUMNS",
    "DERIVED",
    "RECORDED",
    "Trace",
    "atomic_write",
    "atomic_write_text",
    "constant_column",
    "empty_columns",
    "read_staleness",
]

#: Column name -> dtype of the Trace table, in table order: the one declaration of the schema.
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

#: Columns a Trace derives from the others when a producer leaves them out
#: (``dropped = apply_version < 0``; ``tau = apply_version - 1 - read_version``, -1 if dropped).
DERIVED: tuple[str, ...] = ("tau", "dropped")

#: The columns a producer records for each gradient, in table order.
RECORDED: tuple[str, ...] = tuple(c for c in COLUMNS if c not in DERIVED)

_DIGEST_KEY = b"asgd.meta_sha256"  # in the Parquet schema metadata


def empty_columns(n: int, names: tuple[str, ...] | None = None) -> dict[str, npt.NDArray[Any]]:
    """Uninitialized arrays of ``n`` rows for ``names`` (default all columns), with the schema's
    dtypes, in table order: for producers that fill columns in place.

    >>> {k: str(v.dtype) for k, v in empty_columns(2, ("worker", "t_read")).items()}
    {'worker': 'int32', 't_read': 'float64'}
    """
    chosen = tuple(COLUMNS) if names is None else names
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown:
        raise ValueError(f"not Trace columns: {', '.join(unknown)}")
    return {c: np.empty(n, dtype=COLUMNS[c]) for c in COLUMNS if c in chosen}


def constant_column(value: Any, n: int, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[Any]:
    """A column of ``n`` rows all ``value``, in no memory of its own: a read-only view of
    one value (numpy's ``broadcast_to``), which a Trace keeps as it is (a simulated run's
    step sizes, all NaN; HOGWILD!'s attempts, all 1).

    >>> column = constant_column(1, 3, np.int32)
    >>> column.tolist(), column.strides, column.flags.writeable
    ([1, 1, 1], (0,), False)
    """
    return np.broadcast_to(np.asarray(value, dtype=dtype), (n,))


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _temporary(path) as tmp:
        write(tmp)
        os.replace(tmp, path)


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
        cols = {k: np.asarray(v).astype(COLUMNS[k], copy=False) for k, v in columns.items() if k in COLUMNS}
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

    def applied(self) -> pd.DataFrame:
        """The applied (not dropped) rows in publish order: by ``apply_version``, the rows of
        one synchronous round (one version) by worker. The index is the rows' position in
        :attr:`table`."""
        applied = self.table[~self.table["dropped"].to_numpy(dtype=bool)]
        order = np.lexsort((applied["worker"].to_numpy(), applied["apply_version"].to_numpy()))
        return applied.iloc[order]

    def staleness(self) -> npt.NDArray[np.int64]:
        """Staleness of the applied updates, in the order they were published."""
        return self.applied()["tau"].to_numpy(dtype=np.int64)

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``PATH.parquet`` and ``PATH.json``; return both paths.

        Both files are complete before either replaces an earlier pair, so a failed write
        leaves the previous Trace as it was, and no temporary file behind.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        stem = _stem(path)
        parquet, meta = stem.with_suffix(".parquet"), stem.with_suffix(".json")
        text = json.dumps(self.meta, indent=2, sort_keys=True, default=str) + "\n"
        table = pa.Table.from_pandas(self.table, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _DIGEST_KEY: _digest(json.loads(text)).encode()}
        )
        stem.parent.mkdir(parents=True, exist_ok=True)
        with _temporary(parquet) as tmp_table, _temporary(meta) as tmp_meta:
            pq.write_table(table, tmp_table)
            tmp_meta.write_text(text)
            os.replace(tmp_table, parquet)
            os.replace(tmp_meta, meta)
        return parquet, meta

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a Trace saved by :meth:`save` (give the stem, the .parquet or the .json).

        A table and metadata from different writes (an interrupted save) raise ``ValueError``,
        and so does a table saved with metadata whose JSON is missing. A table without the
        digest (written by other tools) loads without metadata when it has no JSON.
        """
        import pyarrow.parquet as pq

        stem = _stem(path)
        parquet, meta = stem.with_suffix(".parquet"), stem.with_suffix(".json")
        if not parquet.exists():
            raise FileNotFoundError(f"no trace table at {parquet}")
        table = pq.read_table(parquet)
        expected = (table.schema.metadata or {}).get(_DIGEST_KEY)
        if expected is not None and not meta.exists():
            raise FileNotFoundError(
                f"{meta} is missing: {parquet} was saved with its metadata (algorithm, workers, "
                "profile, ...) in that file; copy both"
            )
        info = json.loads(meta.read_text()) if meta.exists() else {}
        if expected is not None and expected.decode() != _digest(info):
            raise ValueError(
                f"{meta} does not belong to {parquet}: they come from different writes "
                "(an interrupted save?) or the metadata was edited"
            )
        return cls(table.to_pandas(), info)


def _digest(meta: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``meta`` (sorted keys, no whitespace)."""
    canonical = json.dumps(meta, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """A temporary file next to ``path``, removed on exit unless it was renamed away. It gets
    the permissions a new file gets under the process's umask (``mkstemp`` alone gives 0600:
    reports that could not be shared with a group or served)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _validate(arrays: dict[str, npt.NDArray[Any]], check_tau: bool = True) -> None:
    dropped, tau, apply_v = arrays["dropped"], arrays["tau"], arrays["apply_version"]
    wrong = apply_v != -1  # in place from here: no masked copies of the columns
    wrong |= tau != -1
    wrong &= dropped
    if wrong.any():
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
    if p.suffix not in ("", ".csv", ".parquet", ".json"):
        raise ValueError(
            f"{p}: staleness is read from a saved Trace (.parquet or .json) or a CSV file, "
            f"not a {p.suffix} file"
        )
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
