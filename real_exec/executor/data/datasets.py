"""The data sets of real runs: where their files are looked for, and how they are read.

=================  ============================================  ===============  =======
name               source                                        shape (h, w, c)  classes
=================  ============================================  ===============  =======
``fashion-mnist``  IDX files (Debian's ``dataset-fashion-mnist``)  28, 28, 1        10
``mnist``          IDX files                                     28, 28, 1        10
``cifar10``        CIFAR-10 binary batches                       32, 32, 3        10
``digits``         scikit-learn's bundled 8x8 digits (1,797)     8, 8, 1          10
``synthetic``      generated: 10 Gaussian clusters in 784 dims   28, 28, 1        10
=================  ============================================  ===============  =======

With ``--data-dir DIR`` the files are read from DIR only (the data set's files themselves,
or its sub-folder ``mnist/``, ``fashion-mnist/``, ``cifar-10/``): missing or bad files there
are an error, never a reason to read another copy. Without it they are looked for in
``$ASGD_DATA_DIR/<sub-folder>``, in the download cache and, for Fashion-MNIST, where Debian's
and Ubuntu's package ``dataset-fashion-mnist`` installs it
(``/usr/share/datasets/fashion-mnist``), and fetched from their official source into the
cache on first use (:mod:`real_exec.executor.data.fetch`). The official train/test split is
kept; pixels are scaled to [0, 1]. :func:`origin` names the files read, with a digest.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from real_exec.executor.data.cifar import TEST_FILE, TRAIN_FILES, read_cifar_batch
from real_exec.executor.data.errors import DataError
from real_exec.executor.data.idx import read_idx

__all__ = [
    "DATASETS",
    "DEBIAN_FASHION_MNIST",
    "Dataset",
    "find_files",
    "load_dataset",
    "origin",
    "search_dirs",
    "train_test_split",
]

DATASETS = ("fashion-mnist", "mnist", "cifar10", "digits", "synthetic")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_SUBFOLDER = {"mnist": "mnist", "fashion-mnist": "fashion-mnist", "cifar10": "cifar-10"}
_IDX = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_HOW = {
    "fashion-mnist": "get it with asgd data fetch fashion-mnist (online), apt-get install "
    "dataset-fashion-mnist, or put the four IDX files (train-images-idx3-ubyte[.gz], "
    "train-labels-idx1-ubyte[.gz], t10k-...) in --data-dir DIR or $ASGD_DATA_DIR/fashion-mnist",
    "mnist": "get it with asgd data fetch mnist (online), or put the four IDX files "
    "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...) in --data-dir DIR or "
    "$ASGD_DATA_DIR/mnist",
    "cifar10": "get it with asgd data fetch cifar10 (online), or put CIFAR-10's binary version "
    "(data_batch_1.bin .. data_batch_5.bin, test_batch.bin) in --data-dir DIR or $ASGD_DATA_DIR/cifar-10",
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and test samples as rows of flattened channels-last images, and labels."""

    name: str
    x_train: npt.NDArray[np.floating]
    y_train: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.floating]
    y_test: npt.NDArray[np.int64]
    shape: tuple[int, int, int]
    classes: int
    origin: dict[str, Any]  # {"dir", "files", "sha256"} (:func:`origin`), or {"source": ...}

    def describe(self) -> str:
        h, w, c = self.shape
        where = self.origin.get("dir") or self.origin.get("source")
        return (
            f"{self.name}: {len(self.y_train):,} training and {len(self.y_test):,} test samples "
            f"of {h}x{w}x{c}, from {where}"
        )


def _candidates(name: str, folder: Path) -> list[Path]:
    """The folders under ``folder`` that may hold ``name``'s files: itself, its sub-folder,
    and for CIFAR-10 the folder its archive unpacks to."""
    dirs = [folder, folder / _SUBFOLDER[name]]
    if name == "cifar10":
        dirs += [d / "cifar-10-batches-bin" for d in list(dirs)]
    return dirs


def search_dirs(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Where ``name``'s files are looked for, in order: only ``data_dir`` (and its
    sub-folder) when given; else ``$ASGD_DATA_DIR``, the download cache, and for
    Fashion-MNIST Debian's package path."""
    if data_dir is not None:
        return _candidates(name, Path(data_dir))
    from real_exec.executor.data.fetch import cache_dir

    roots = [Path(os.environ["ASGD_DATA_DIR"])] if os.environ.get("ASGD_DATA_DIR") else []
    roots += [cache_dir()]
    dirs = [d for root in dict.fromkeys(roots) for d in _candidates(name, root)[1:]]
    if name == "fashion-mnist":
        dirs.append(DEBIAN_FASHION_MNIST)
    return dirs


def _idx_files(folder: Path) -> list[Path] | None:
    found = []
    for stem in _IDX:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            return None
    return found


def _files_in(name: str, dirs: list[Path]) -> list[Path] | None:
    """``name``'s files from the first of ``dirs`` that has them all."""
    for folder in dirs:
        if name == "cifar10":
            files = [folder / f for f in (*TRAIN_FILES, TEST_FILE)]
            if all(f.is_file() for f in files):
                return files
        elif (idx := _idx_files(folder)) is not None:
            return idx
    return None


def find_files(name: str, data_dir: str | Path | None = None, fetch_missing: bool = True) -> list[Path]:
    """The files of data set ``name`` (``mnist``, ``fashion-mnist``, ``cifar10``).

    With ``data_dir``, from there only: :class:`DataError` naming it if it does not exist or
    lacks the files (never another copy). Without, from the first folder of
    :func:`search_dirs` that has them all, else fetched into the cache
    (:func:`~real_exec.executor.data.fetch.fetch`) unless ``fetch_missing`` is off or
    fetching is (``ASGD_OFFLINE=1``); :class:`DataError` saying where it looked, what was
    tried and how to get the set if that fails."""
    if name not in _SUBFOLDER:
        raise ValueError(f"{name!r} has no data files (file-based data sets: {', '.join(_SUBFOLDER)})")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(f"--data-dir {data_dir} does not exist (it would hold {name}'s files)")
    dirs = search_dirs(name, data_dir)
    found = _files_in(name, dirs)
    if found is not None:
        return found
    looked = ", ".join(str(d) for d in dirs)
    if data_dir is not None:
        raise DataError(f"{name} not found in --data-dir {data_dir} (looked in {looked}); {_HOW[name]}")
    from real_exec.executor.data.fetch import fetch, offline

    if offline() or not fetch_missing:
        raise DataError(f"{name} not found: looked in {looked}; fetching is off (ASGD_OFFLINE); {_HOW[name]}")
    try:
        folder = fetch(name)
    except DataError as exc:
        raise DataError(f"{name} not found: looked in {looked}; {exc}; {_HOW[name]}") from None
    found = _files_in(name, _candidates(name, folder))
    if found is None:
        raise DataError(f"{name}: fetched into {folder}, but its files are not all there")
    return found


def origin(files: list[Path]) -> dict[str, Any]:
    """Which files a data set was read from: their folder, names and one SHA-256 over their
    bytes in order (two runs on the same data have the same digest)."""
    digest = hashlib.sha256()
    for f in files:
        with f.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return {"dir": str(files[0].parent), "files": [f.name for f in files], "sha256": digest.hexdigest()}


def _scaled(pixels: npt.NDArray[np.uint8], dtype: str) -> npt.NDArray[np.floating]:
    """Rows of pixels in [0, 1] (one allocation: fresh memory is slow to fault in)."""
    out = pixels.reshape(len(pixels), -1).astype(dtype)
    out /= np.asarray(255.0, dtype=dtype)
    return out


def _labels_match(images: npt.NDArray[np.uint8], labels: npt.NDArray[np.uint8], a: Path, b: Path) -> None:
    if len(images) != len(labels):
        raise DataError(f"{a} has {len(images):,} images but {b} has {len(labels):,} labels")
    if labels.ndim != 1 or images.ndim != 3:
        raise DataError(f"{a}, {b}: expected images (n, rows, cols) and labels (n,)")


def _load_idx(name: str, files: list[Path], dtype: str) -> Dataset:
    tr_x, tr_y, te_x, te_y = files
    parts = []
    for images_file, labels_file in ((tr_x, tr_y), (te_x, te_y)):
        images, labels = read_idx(images_file), read_idx(labels_file)
        _labels_match(images, labels, images_file, labels_file)
        if labels.max() > 9:
            raise DataError(f"{labels_file}: label {labels.max()} out of 0-9")
        parts.append((_scaled(images, dtype), labels.astype(np.int64), images.shape[1:]))
    (x_tr, y_tr, (h, w)), (x_te, y_te, test_shape) = parts
    if test_shape != (h, w):
        raise DataError(f"{te_x}: images of {test_shape} where {tr_x} has {(h, w)}")
    return Dataset(name, x_tr, y_tr, x_te, y_te, (h, w, 1), 10, origin(files))


def _load_cifar(files: list[Path], dtype: str) -> Dataset:
    batches = [read_cifar_batch(f) for f in files]
    x_tr = np.concatenate([b[0] for b in batches[:-1]])
    y_tr = np.concatenate([b[1] for b in batches[:-1]])
    x_te, y_te = batches[-1]
    return Dataset(
        "cifar10",
        _scaled(x_tr, dtype),
        y_tr,
        _scaled(x_te, dtype),
        y_te,
        (32, 32, 3),
        10,
        origin(files),
    )


def train_test_split(rng: np.random.Generator, x: npt.NDArray, y: npt.NDArray, test: float = 0.2) -> tuple:
    """A random split of ``(x, y)``: ``(x_train, y_train, x_test, y_test)``, ``test`` of it for testing."""
    order = rng.permutation(x.shape[0])
    cut = int(x.shape[0] * (1 - test))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def _load_digits(rng: np.random.Generator, dtype: str) -> Dataset:
    """scikit-learn's 8x8 digits, standardized per pixel, a random 80/20 split."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data - data.data.mean(axis=0)
    x /= x.std(axis=0) + 1e-8
    x_tr, y_tr, x_te, y_te = train_test_split(rng, x.astype(dtype), data.target.astype(np.int64))
    return Dataset(
        "digits", x_tr, y_tr, x_te, y_te, (8, 8, 1), 10, {"source": "scikit-learn's bundled digits"}
    )


def _synthetic(rng: np.random.Generator, dtype: str) -> Dataset:
    """10,000 samples of 10 Gaussian clusters in 784 dimensions (MNIST's shape), 80/20 split."""
    n, classes = 10_000, 10
    centers = rng.standard_normal((classes, 784))
    y = rng.integers(0, classes, n)
    x = centers[y] + 3.0 * rng.standard_normal((n, 784))
    x_tr, y_tr, x_te, y_te = train_test_split(rng, x.astype(dtype), y.astype(np.int64))
    return Dataset("synthetic", x_tr, y_tr, x_te, y_te, (28, 28, 1), classes, {"source": "generated"})


@functools.lru_cache(maxsize=2)
def _load_files(name: str, stamps: tuple[tuple[Path, int, int], ...], dtype: str) -> Dataset:
    """A file-based data set, kept for the next run of the same process (an experiment's runs
    load it once): the files' paths, times and sizes are the key, so changed files are read again."""
    files = [path for path, _, _ in stamps]
    return _load_idx(name, files, dtype) if name != "cifar10" else _load_cifar(files, dtype)


def load_dataset(
    name: str, rng: np.random.Generator, data_dir: str | Path | None = None, dtype: str = "float64"
) -> Dataset:
    """Data set ``name`` (:data:`DATASETS`); ``rng`` draws the generated data and the digits split.

    File-based sets are found (or fetched) by :func:`find_files`, read once per process and
    shared (their arrays must not be modified).
    """
    if name in ("mnist", "fashion-mnist", "cifar10"):
        stamps = tuple((f, f.stat().st_mtime_ns, f.stat().st_size) for f in find_files(name, data_dir))
        return _load_files(name, stamps, dtype)
    if name == "digits":
        return _load_digits(rng, dtype)
    if name == "synthetic":
        return _synthetic(rng, dtype)
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
