from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from real_exec.app.main import main
from staleness_sim.sweep import load_sweep, run_sweep

SWEEP = """
[sweep]
updates = 800
seed = 5
[fixed]
compute = "expon:scale=1"
[grid]
algo = ["hogwild", "leashed"]
workers = [2, 3, 4]
publish = ["const:0", "const:0.05"]
"""


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    return path


def test_grid_and_independent_seeds(sweep_file: Path) -> None:
    sweep = load_sweep(sweep_file)
    cells = sweep["cells"]
    assert len(cells) == 12 and len({c["seed"] for c in cells}) == 12
    assert {(c["algo"], c["workers"], c["publish"]) for c in cells} == {
        (a, w, p) for a in ("hogwild", "leashed") for w in (2, 3, 4) for p in ("const:0", "const:0.05")
    }


def test_interrupted_sweep_resumes_with_every_cell_exactly_once(sweep_file: Path, tmp_path: Path) -> None:
    sweep = load_sweep(sweep_file)
    first: list[int] = []

    def stop_after_four(row: dict) -> None:
        first.append(row["cell"])
        if len(first) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, tmp_path / "out", jobs=1, on_cell=stop_after_four)
    assert len(list((tmp_path / "out" / "cells").glob("cell-*.json"))) == 4
    second: list[int] = []
    table = run_sweep(sweep, tmp_path / "out", jobs=1, on_cell=lambda row: second.append(row["cell"]))
    assert sorted(first + second) == list(range(12))  # none twice, none lost
    assert table["cell"].tolist() == list(range(12))
    fresh = run_sweep(sweep, tmp_path / "fresh", jobs=2)
    pd.testing.assert_frame_equal(table, fresh)
    assert pd.read_parquet(tmp_path / "out" / "results.parquet").equals(table)
    assert len(json.loads((tmp_path / "out" / "config.json").read_text())["cells"]) == 12


def test_an_edited_grid_reuses_exactly_the_cells_that_still_apply(sweep_file: Path, tmp_path: Path) -> None:
    first = run_sweep(load_sweep(sweep_file), tmp_path / "out", jobs=1)
    # Drop one publish value, reorder the workers and add one: 2 algos x 4 workers x 1 publish.
    sweep_file.write_text(
        SWEEP.replace('publish = ["const:0", "const:0.05"]', 'publish = ["const:0.05"]').replace(
            "workers = [2, 3, 4]", "workers = [5, 4, 3, 2]"
        )
    )
    edited = load_sweep(sweep_file)
    ran: list[int] = []
    table = run_sweep(edited, tmp_path / "out", jobs=1, on_cell=lambda row: ran.append(row["cell"]))
    assert sorted(table.loc[ran, "workers"].tolist()) == [5, 5]  # only the new cells ran
    old = first.set_index(["algo", "workers", "publish"])
    for _, row in table[table["workers"] != 5].iterrows():
        before = old.loc[(row["algo"], row["workers"], row["publish"])]
        assert before["seed"] == row["seed"] and before["throughput"] == row["throughput"]
    fresh = run_sweep(edited, tmp_path / "fresh", jobs=1)
    pd.testing.assert_frame_equal(table, fresh)  # reused cells are exactly what a fresh run gives


def test_dask_local_cluster_gives_the_local_table(sweep_file: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    sweep = load_sweep(sweep_file)
    local = run_sweep(sweep, tmp_path / "local", jobs=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = run_sweep(sweep, tmp_path / "dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local, remote)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[grid]\nalgo = ['hogwild']\n", "algo and workers"),
        ("[grid]\nalgo = ['x']\nworkers = [2]\n", "algo must be one of"),
        ("[grid]\nalgo = ['lock']\nworkers = [2]\nspeed = [1]\n", "unknown option"),
        ("[sweep]\nupdatez = 3\n", "unknown key"),
        ("[grid]\nalgo = []\nworkers = [2]\n", "non-empty list"),
        ("[fixed]\nalgo = 'lock'\nworkers = 2\ncompute = 'nosuch:a=1'\n", "nosuch"),
    ],
)
def test_bad_sweep_files(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ValueError, match=needle):
        load_sweep(tmp_path / "bad.toml")


def test_sweep_cli(capsys, sweep_file: Path, tmp_path: Path) -> None:
    code = main(["sweep", str(sweep_file), "--out", str(tmp_path / "o"), "--jobs", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["cells"] == 12 and doc["resumed_from"] == 0
    code = main(["sweep", str(sweep_file), "--out", str(tmp_path / "o"), "--json"])
    assert json.loads(capsys.readouterr().out)["resumed_from"] == 12
