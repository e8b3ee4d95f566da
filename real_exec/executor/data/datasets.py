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

Files are looked for, in order, in ``--data-dir DIR`` (the data set's files themselves, or
its sub-folder ``mnist/``, ``fashion-mnist/``, ``cifar-10/``), in ``$ASGD_DATA_DIR/<sub-folder>``
and, for Fashion-MNIST, where Debian's and Ubuntu's package ``dataset-fashion-mnist`` installs
it (``/usr/share/datasets/fashion-mnist``). The official train/test split is kept; pixels
are scaled to [0, 1]. Nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from real_exec.executor.data.cifar import TEST_FILE, TRAIN_FILES, read_cifar_batch
from real_exec.executor.data.errors import DataError
from real_exec.executor.data.idx import read_idx

__all__ = ["DATASETS", "DEBIAN_FASHION_MNIST", "Dataset", "find_files", "load_dataset", "train_test_split"]

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
    "fashion-mnist": "install Debian's or Ubuntu's package (apt-get install dataset-fashion-mnist), or put "
    "the four IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...) in "
    "--data-dir DIR or $ASGD_DATA_DIR/fashion-mnist",
    "mnist": "put the four IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-...) in --data-dir DIR or $ASGD_DATA_DIR/mnist",
    "cifar10": "put CIFAR-10's binary version (data_batch_1.bin .. data_batch_5.bin, test_batch.bin) "
    "in --data-dir DIR or $ASGD_DATA_DIR/cifar-10",
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
    source: str

    def describe(self) -> str:
        h, w, c = self.shape
        return (
            f"{self.name}: {len(self.y_train):,} training and {len(self.y_test):,} test samples "
            f"of {h}x{w}x{c}, from {self.source}"
        )


def _search_dirs(name: str, data_dir: str | Path | None) -> list[Path]:
    sub = _SUBFOLDER[name]
    dirs: list[Path] = []
    if data_dir is not None:
        dirs += [Path(data_dir), Path(data_dir) / sub]
    env = os.environ.get("ASGD_DATA_DIR")
    if env:
        dirs.append(Path(env) / sub)
    if name == "fashion-mnist":
        dirs.append(DEBIAN_FASHION_MNIST)
    if name == "cifar10":
        dirs += [d / "cifar-10-batches-bin" for d in list(dirs)]  # as the archive unpacks
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


def find_files(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """The files of data set ``name`` (``mnist``, ``fashion-mnist``, ``cifar10``), from the
    first folder that has them all; :class:`DataError` naming where it looked if none does."""
    if name not in _SUBFOLDER:
        raise ValueError(f"{name!r} has no data files (file-based data sets: {', '.join(_SUBFOLDER)})")
    dirs = _search_dirs(name, data_dir)
    for folder in dirs:
        if name == "cifar10":
            files = [folder / f for f in (*TRAIN_FILES, TEST_FILE)]
            if all(f.is_file() for f in files):
                return files
        elif (idx := _idx_files(folder)) is not None:
            return idx
    looked = ", ".join(str(d) for d in dirs) or "nowhere (no --data-dir, no $ASGD_DATA_DIR)"
    raise DataError(f"{name} not found: looked in {looked}; {_HOW[name]}")


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


def _load_idx(name: str, data_dir: str | Path | None, dtype: str) -> Dataset:
    tr_x, tr_y, te_x, te_y = find_files(name, data_dir)
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
    return Dataset(name, x_tr, y_tr, x_te, y_te, (h, w, 1), 10, str(tr_x.parent))


def _load_cifar(data_dir: str | Path | None, dtype: str) -> Dataset:
    files = find_files("cifar10", data_dir)
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
        str(files[0].parent),
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
    return Dataset("digits", x_tr, y_tr, x_te, y_te, (8, 8, 1), 10, "scikit-learn's bundled digits")


def _synthetic(rng: np.random.Generator, dtype: str) -> Dataset:
    """10,000 samples of 10 Gaussian clusters in 784 dimensions (MNIST's shape), 80/20 split."""
    n, classes = 10_000, 10
    centers = rng.standard_normal((classes, 784))
    y = rng.integers(0, classes, n)
    x = centers[y] + 3.0 * rng.standard_normal((n, 784))
    x_tr, y_tr, x_te, y_te = train_test_split(rng, x.astype(dtype), y.astype(np.int64))
    return Dataset("synthetic", x_tr, y_tr, x_te, y_te, (28, 28, 1), classes, "generated")


@functools.lru_cache(maxsize=2)
def _load_files(
    name: str, files: tuple[tuple[Path, int, int], ...], dtype: str, data_dir: str | Path | None
) -> Dataset:
    """A file-based data set, kept for the next run of the same process (an experiment's runs
    load it once): ``files`` are in the key so that changed files are read again."""
    return _load_idx(name, data_dir, dtype) if name != "cifar10" else _load_cifar(data_dir, dtype)


def load_dataset(
    name: str, rng: np.random.Generator, data_dir: str | Path | None = None, dtype: str = "float64"
) -> Dataset:
    """Data set ``name`` (:data:`DATASETS`); ``rng`` draws the generated data and the digits split.

    File-based sets are read once per process and shared (their arrays must not be modified).
    """
    if name in ("mnist", "fashion-mnist", "cifar10"):
        files = tuple((f, f.stat().st_mtime_ns, f.stat().st_size) for f in find_files(name, data_dir))
        return _load_files(name, files, dtype, data_dir)
    if name == "digits":
        return _load_digits(rng, dtype)
    if name == "synthetic":
        return _synthetic(rng, dtype)
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
