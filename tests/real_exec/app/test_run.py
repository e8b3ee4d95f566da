from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import SUMMARY_KEYS, argv, ctrl_c_at_300, hooked_quadratic, write_mnist
from tests.helpers import run_cli as run
from theory.trace import Trace

KEYS = SUMMARY_KEYS | {
    "final_loss",
    "lost_update_norm",
    "machine",
}


def test_run_json_and_outputs(capsys, tmp_path: Path) -> None:
    code, out, _ = run(
        capsys,
        "run",
        "--algo",
        "leashed",
        "--threads",
        "2",
        "--problem",
        "logreg",
        "--updates",
        "3000",
        "--out",
        str(tmp_path),
        "--json",
    )
    doc = json.loads(out)
    assert code == 0 and KEYS | {"test_accuracy"} <= set(doc)
    assert doc["updates"] + doc["dropped"] == 3000
    assert doc["machine"]["cores"] >= 1 and "cpu_model" in doc["machine"]
    trace = Trace.load(tmp_path / "trace.parquet")
    assert len(trace) == 3000 and trace.meta["source"] == "real" and trace.meta["problem"] == "logreg"
    for name in ("curve.parquet", "curve.json", "run.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_run_mlp_options(capsys) -> None:
    code, out, _ = run(
        capsys,
        *argv(
            "run --algo hogwild --threads 1 --problem digits-mlp "
            "--hidden 32,32 --dtype float32 --updates 500 --json"
        ),
    )
    doc = json.loads(out)
    assert code == 0 and doc["updates"] == 500 and doc["tau_mean"] == 0.0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (argv("--algo lock --threads 2 --problem quadratic"), "--updates"),
        (
            argv("--algo lock --threads 2 --problem quadratic --updates 5 --seconds 1"),
            "exactly one",
        ),
        (argv("--algo lock --threads 0 --problem quadratic --updates 5"), "--threads"),
        (argv("--algo lock --threads 2 --problem mnist --updates 5"), "--problem"),
        (
            argv("--algo lock --threads 2 --problem digits-mlp --hidden a,b --updates 5"),
            "--hidden",
        ),
        (
            argv("--algo lock --threads 2 --problem quadratic --eta -1 --updates 5"),
            "--eta",
        ),
        (
            argv("--algo hogwild --threads 2 --problem quadratic --persistence 2 --updates 5"),
            "--persistence",
        ),
    ],
)
def test_run_bad_input(capsys, args: list[str], needle: str) -> None:
    code, out, err = run(capsys, "run", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and needle in err


def test_run_interrupted_exits_130_and_keeps_its_files(capsys, tmp_path: Path, monkeypatch) -> None:
    import real_exec.app.run as run_app

    interrupted = hooked_quadratic(ctrl_c_at_300)
    monkeypatch.setattr(run_app, "build_problem", lambda *a, **k: interrupted)
    args = argv("--algo hogwild --threads 2 --problem quadratic --seconds 60")
    code, out, err = run(capsys, "run", *args, "--out", str(tmp_path), "--json")
    assert code == 130 and "interrupted; the partial run was kept" in err
    doc = json.loads(out)
    assert doc["interrupted"] is True and doc["gradients"] >= 1
    kept = Trace.load(tmp_path / "trace")
    assert len(kept) == doc["gradients"] and kept.meta["interrupted"] is True
    assert (tmp_path / "curve.parquet").exists() and (tmp_path / "run.png").exists()


def _fail_after_20(n: int, _params: object) -> None:
    if n > 20:
        raise ArithmeticError("kernel failed")


def test_run_worker_error_exits_1_with_the_traceback(capsys, monkeypatch) -> None:
    import real_exec.app.run as run_app

    broken = hooked_quadratic(_fail_after_20)
    monkeypatch.setattr(run_app, "build_problem", lambda *a, **k: broken)
    code, out, err = run(capsys, "run", *argv("--algo lock --threads 2 --problem quadratic --seconds 30"))
    assert code == 1 and out == ""
    # One line; the traceback only when asked for (ASGD_TRACEBACK=1).
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("asgd: error: worker") and "ArithmeticError: kernel failed" in err
    monkeypatch.setenv("ASGD_TRACEBACK", "1")
    again = hooked_quadratic(_fail_after_20)  # its own call count, from 1
    monkeypatch.setattr(run_app, "build_problem", lambda *a, **k: again)
    code, out, err = run(capsys, "run", *argv("--algo lock --threads 2 --problem quadratic --seconds 30"))
    assert code == 1 and "Traceback (most recent call last)" in err and "_fail_after_20" in err


def test_run_a_workload_from_files_with_momentum_and_epochs(capsys, tmp_path: Path) -> None:
    write_mnist(tmp_path / "mnist", n_train=40, n_test=20)
    args = argv(
        f"run --algo leashed --threads 2 --model lenet --dataset mnist --data-dir {tmp_path} "
        "--batch 8 --epochs 3 --momentum 0.9 --init he --json"
    )
    code, out, err = run(capsys, *args, "--out", str(tmp_path / "out"))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["gradients"] == 3 * 5  # 40 samples / batch 8 = 5 gradients per epoch
    assert doc["lost_update_norm"] < 1e-9  # momentum's directions are what was applied
    assert len(doc["epoch_loss"]) == len(doc["epoch_time"]) >= 1
    assert 0.0 <= doc["test_accuracy"] <= 1.0 and doc["test_loss"] > 0
    meta = Trace.load(tmp_path / "out" / "trace").meta
    assert (meta["model"], meta["dataset"], meta["momentum"], meta["epochs"]) == ("lenet", "mnist", 0.9, 3.0)


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        ("missing", "data does not exist (it would hold mnist"),
        ("magic", "train-images-idx3-ubyte: not an IDX file"),
        ("truncated", "t10k-images-idx3-ubyte: "),
    ],
)
def test_bad_data_is_one_line_and_exit_2(
    capsys, tmp_path: Path, monkeypatch, damage: str, needle: str
) -> None:
    monkeypatch.delenv("ASGD_DATA_DIR", raising=False)
    folder = tmp_path / "data"
    if damage != "missing":
        write_mnist(folder, gz=False)
    if damage == "magic":
        f = folder / "train-images-idx3-ubyte"
        f.write_bytes(b"\x00\x00\x0c\x03" + f.read_bytes()[4:])
    if damage == "truncated":
        f = folder / "t10k-images-idx3-ubyte"
        f.write_bytes(f.read_bytes()[:-1])
    args = argv(f"run --algo lock --threads 1 --model mlp --dataset mnist --data-dir {folder} --gradients 10")
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_lenet_on_cifar10_files(capsys, tmp_path: Path) -> None:
    from tests.helpers import write_cifar

    write_cifar(tmp_path / "cifar-10", per_file=6)
    args = argv(f"run --algo hogwild --threads 2 --model lenet --dataset cifar10 --data-dir {tmp_path}")
    code, out, err = run(capsys, *args, "--gradients", "40", "--batch", "4", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["gradients"] == 40 and doc["lost_update_norm"] >= 0.0
    assert 0.0 <= doc["test_accuracy"] <= 1.0


def test_a_batch_larger_than_the_training_set_is_refused(capsys) -> None:
    code, out, err = run(
        capsys, *argv("run --algo lock --threads 1 --model mlp --dataset digits --batch 100000 --seconds 0.5")
    )
    assert (
        code == 2 and out == "" and "batch 100,000 is larger than the 1,437 training samples of digits" in err
    )
