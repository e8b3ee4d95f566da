"""Data sets from files the tests write themselves, and from Debian's Fashion-MNIST if installed."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from real_exec.executor.data.cifar import RECORD, read_cifar_batch, write_cifar_batch
from real_exec.executor.data.datasets import DEBIAN_FASHION_MNIST, find_files, load_dataset
from real_exec.executor.data.errors import DataError
from real_exec.executor.data.idx import read_idx, write_idx
from tests.helpers import run_cli, write_cifar, write_mnist
from theory.trace import Trace

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip_and_scaling(tmp_path: Path, gz: bool) -> None:
    write_mnist(tmp_path, gz=gz)
    data = load_dataset("mnist", RNG, tmp_path)
    raw = read_idx(tmp_path / f"train-images-idx3-ubyte{'.gz' if gz else ''}")
    assert data.x_train.shape == (12, 784) and data.x_test.shape == (6, 784) and data.shape == (28, 28, 1)
    assert np.array_equal(data.x_train, raw.reshape(12, -1) / 255.0)
    assert data.y_train.tolist() == [i % 10 for i in range(12)] and data.y_train.dtype == np.int64
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0


def test_cifar_record_layout(tmp_path: Path) -> None:
    images = RNG.integers(0, 256, (3, 32, 32, 3))
    write_cifar_batch(tmp_path / "b.bin", images, [7, 0, 9])
    raw = (tmp_path / "b.bin").read_bytes()
    assert len(raw) == 3 * RECORD and raw[0] == 7
    # after the label: the red plane of image 0, row by row
    assert list(raw[1:33]) == images[0, 0, :, 0].tolist()
    back, labels = read_cifar_batch(tmp_path / "b.bin")
    assert np.array_equal(back, images) and labels.tolist() == [7, 0, 9]


def test_cifar10_loads_five_training_batches(tmp_path: Path) -> None:
    write_cifar(tmp_path / "cifar-10" / "cifar-10-batches-bin")
    data = load_dataset("cifar10", RNG, tmp_path)
    assert data.x_train.shape == (20, 32 * 32 * 3) and data.x_test.shape == (4, 3072)
    assert data.shape == (32, 32, 3) and data.classes == 10


def test_search_order_data_dir_then_environment(tmp_path: Path, monkeypatch) -> None:
    env = write_mnist(tmp_path / "env" / "mnist", n_train=10)
    given = write_mnist(tmp_path / "given", n_train=20)
    monkeypatch.setenv("ASGD_DATA_DIR", str(tmp_path / "env"))
    assert find_files("mnist")[0].parent == env
    assert find_files("mnist", given)[0].parent == given
    assert len(load_dataset("mnist", RNG, given).y_train) == 20


def test_missing_data_names_the_set_where_it_looked_and_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    import real_exec.executor.data.datasets as datasets

    monkeypatch.setenv("ASGD_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("ASGD_OFFLINE", "1")  # nothing may be fetched here
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    with pytest.raises(DataError) as info:
        load_dataset("mnist", RNG)
    message = str(info.value)
    assert "\n" not in message and message.startswith("mnist not found")
    assert str(tmp_path / "nothing" / "mnist") in message and "asgd data fetch mnist" in message
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist") as info:
        find_files("fashion-mnist")
    assert str(tmp_path / "no-debian-package") in str(info.value)
    with pytest.raises(DataError, match=r"data_batch_1\.bin"):
        load_dataset("cifar10", RNG)
    with pytest.raises(DataError, match=r"--data-dir .*nope does not exist"):
        load_dataset("mnist", RNG, tmp_path / "nope")


def test_wrong_magic_number(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x0d\x03" + bad.read_bytes()[4:])  # float type code, not ubyte
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: not an IDX file .*magic number 00000d03"):
        load_dataset("mnist", RNG, tmp_path)


def test_truncated_files(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"truncated"):
        load_dataset("mnist", RNG, tmp_path)
    batch = write_cifar(tmp_path / "c") / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"data_batch_3.bin: .* not a whole number .* \(truncated\?\)"):
        load_dataset("cifar10", RNG, tmp_path / "c")
    gz = write_mnist(tmp_path / "g") / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:10])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: cannot read it"):
        load_dataset("mnist", RNG, tmp_path / "g")


def test_images_and_labels_of_different_count(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(11) % 10)
    with pytest.raises(DataError, match=r"12 images but .*train-labels-idx1-ubyte\.gz has 11 labels"):
        load_dataset("mnist", RNG, tmp_path)


def test_a_label_out_of_range(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", [0, 1, 2, 10, 4, 5])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: label 10 out of 0-9"):
        load_dataset("mnist", RNG, tmp_path)


def test_images_of_the_wrong_shape(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((12, 784)))  # flat rows, not images
    with pytest.raises(DataError, match=r"expected images \(n, rows, cols\) and labels \(n,\)"):
        load_dataset("mnist", RNG, tmp_path)


def test_training_and_test_images_of_different_sizes(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((6, 14, 14)))
    with pytest.raises(
        DataError, match=r"t10k-images-idx3-ubyte\.gz: images of \(14, 14\) where .* \(28, 28\)"
    ):
        load_dataset("mnist", RNG, tmp_path)


def test_a_truncated_header(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:10])  # magic and 1.5 of the 3 sizes
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated header \(10 bytes\)"):
        load_dataset("mnist", RNG, tmp_path)


@pytest.mark.skipif(
    not DEBIAN_FASHION_MNIST.exists(), reason="Debian's dataset-fashion-mnist is not installed"
)
def test_the_real_fashion_mnist() -> None:
    data = load_dataset("fashion-mnist", RNG)
    assert data.x_train.shape == (60_000, 784) and data.x_test.shape == (10_000, 784)
    assert np.bincount(data.y_train).tolist() == [6000] * 10  # Fashion-MNIST is balanced
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0


RUN = ["run", "--algo", "hogwild", "--threads", "1", "--model", "logreg", "--dataset", "mnist"]
RUN += ["--gradients", "50", "--batch", "4"]


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        ("truncate", r"train-images-idx3-ubyte\.gz: cannot read it"),
        ("missing dir", r"--data-dir .*/nowhere does not exist"),
        ("labels", r"t10k-labels-idx1-ubyte\.gz: label 10 out of 0-9"),
        ("no files", r"mnist not found in --data-dir .*/empty"),
    ],
)
def test_the_data_dir_named_is_the_data_used_or_one_line(
    capsys, tmp_path: Path, monkeypatch, damage, needle
) -> None:
    # A good copy of the set is in $ASGD_DATA_DIR: a run must never fall back to it.
    write_mnist(tmp_path / "good" / "mnist")
    monkeypatch.setenv("ASGD_DATA_DIR", str(tmp_path / "good"))
    data_dir = tmp_path / "mine"
    write_mnist(data_dir)
    if damage == "truncate":
        f = data_dir / "train-images-idx3-ubyte.gz"
        f.write_bytes(f.read_bytes()[:50])
    elif damage == "missing dir":
        data_dir = tmp_path / "nowhere"
    elif damage == "labels":
        write_idx(data_dir / "t10k-labels-idx1-ubyte.gz", [0, 1, 2, 10, 4, 5])
    else:
        data_dir = tmp_path / "empty"
        data_dir.mkdir()
    code, out, err = run_cli(capsys, *RUN, "--data-dir", str(data_dir))
    error = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(error) == 1
    assert re.search(needle, error[0]), error[0]


def test_a_run_says_which_files_it_read(capsys, tmp_path: Path) -> None:
    write_mnist(tmp_path / "mine")
    code, out, err = run_cli(
        capsys, *RUN, "--data-dir", str(tmp_path / "mine"), "--json", "--out", str(tmp_path / "o")
    )
    assert code == 0, err
    source = json.loads(out)["data_source"]
    files = sorted((tmp_path / "mine").glob("*.gz"))
    assert source["dir"] == str(tmp_path / "mine") and sorted(source["files"]) == sorted(
        f.name for f in files
    )
    ordered = [tmp_path / "mine" / name for name in source["files"]]
    assert source["sha256"] == hashlib.sha256(b"".join(f.read_bytes() for f in ordered)).hexdigest()
    assert Trace.load(tmp_path / "o" / "trace").meta["data_source"] == source
