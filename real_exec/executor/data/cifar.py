"""CIFAR-10's binary version (https://www.cs.toronto.edu/~kriz/cifar.html).

``data_batch_1.bin`` .. ``data_batch_5.bin`` (training) and ``test_batch.bin`` each hold
10,000 records of 3,073 bytes: the label (0-9), then 1,024 red, 1,024 green and 1,024 blue
pixels of a 32x32 image, rows first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from real_exec.executor.data.errors import DataError

__all__ = ["RECORD", "TEST_FILE", "TRAIN_FILES", "read_cifar_batch", "write_cifar_batch"]

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"


def read_cifar_batch(path: str | Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Images ``(n, 32, 32, 3)`` (channels last) and labels ``(n,)`` of one batch file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"{p}: cannot read it ({exc})") from None
    if len(raw) == 0 or len(raw) % RECORD:
        raise DataError(
            f"{p}: {len(raw):,} bytes is not a whole number of {RECORD}-byte CIFAR-10 records (truncated?)"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{p}: label {labels.max()} out of 0-9: not a CIFAR-10 batch file")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def write_cifar_batch(path: str | Path, images: npt.ArrayLike, labels: npt.ArrayLike) -> Path:
    """Write ``images`` ``(n, 32, 32, 3)`` and ``labels`` as one CIFAR-10 batch file."""
    img = np.asarray(images, dtype=np.uint8).transpose(0, 3, 1, 2).reshape(-1, 3 * 32 * 32)
    lab = np.asarray(labels, dtype=np.uint8).reshape(-1, 1)
    p = Path(path)
    p.write_bytes(np.concatenate([lab, img], axis=1).tobytes())
    return p
