"""The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).

A file is a 4-byte magic number -- two zero bytes, a type code (``0x08``: unsigned bytes)
and the number of dimensions -- then one big-endian 32-bit size per dimension, then the
data, row-major. ``train-images-idx3-ubyte`` holds ``(n, 28, 28)`` pixels,
``train-labels-idx1-ubyte`` ``(n,)`` labels; either may be gzip-compressed (``.gz``).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import numpy.typing as npt

from real_exec.executor.data.errors import DataError

__all__ = ["read_idx", "write_idx"]

_UBYTE = 0x08


def read_idx(path: str | Path) -> npt.NDArray[np.uint8]:
    """The array in the IDX file ``path`` (raw or ``.gz``); :class:`DataError` if it is not one."""
    p = Path(path)
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{p}: cannot read it ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE or not 1 <= raw[3] <= 4:
        raise DataError(
            f"{p}: not an IDX file of unsigned bytes (bad magic number {raw[:4].hex() or 'empty'})"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{p}: truncated header ({len(raw)} bytes)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(
            f"{p}: {len(raw) - header:,} data bytes where the header announces {expected:,} {shape} "
            f"({'truncated' if len(raw) - header < expected else 'trailing bytes'})"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | Path, array: npt.ArrayLike) -> Path:
    """Write ``array`` (unsigned bytes) as an IDX file, gzip-compressed if ``path`` ends in ``.gz``."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, _UBYTE, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape) + a.tobytes()
    p = Path(path)
    p.write_bytes(gzip.compress(data) if p.suffix == ".gz" else data)
    return p
