"""Experiments: targets, censoring, divergence, resuming, Dask."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import real_exec.study.experiment.execute as execute
from real_exec.executor.machine import usable_cores
from real_exec.study.experiment.execute import _calibrated, run_experiment
from real_exec.study.experiment.spec import load_experiment
from real_exec.study.experiment.tables import runs_table, summary_table
from tests.helpers import chromium, images_loaded_in_chromium, run_cli

# digits-mlp reaches 97% test accuracy in about 0.1-0.5 s with 2 threads here; 5 s of budget
# leaves a wide margin, so every run of these cells reaches the target.
EXPERIMENT = """
[run]
problem = "digits-mlp"
threads = 2
eta = 0.05
[grid]
algo = ["lock", "hogwild"]
stepsize = ["constant", "tail"]
[target]
test_accuracy = 0.97
check_every = 0.05
[budget]
seconds = 5
[repeat]
count = 2
seed = 1
baseline = { algo = "lock", stepsize = "constant" }
"""

DIVERGING = """
[run]
problem = "digits-mlp"
algo = "hogwild"
threads = 2
[grid]
eta = [0.05, 50.0]
[target]
test_accuracy = 0.97
check_every = 0.05
[budget]
seconds = 3
[repeat]
count = 1
"""


def _write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_experiment_writes_tables_and_report_and_resumes(capsys, tmp_path: Path, monkeypatch) -> None:
    spec_file, out = _write(tmp_path, EXPERIMENT), tmp_path / "out"
    exp = load_experiment(spec_file)
    assert len(exp.runs) == 8 and len({r.key for r in exp.runs}) == 8
    real_run_one, calls = execute.run_one, []

    def interrupted_after_3(spec, e):  # type: ignore[no-untyped-def]
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(spec.key)
        return real_run_one(spec, e)

    monkeypatch.setattr(execute, "run_one", interrupted_after_3)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(exp, out)
    kept = {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")}
    assert len(kept) == 3
    monkeypatch.setattr(
        execute, "run_one", lambda spec, e: (calls.append(spec.key), real_run_one(spec, e))[1]
    )
    code, stdout, err = run_cli(capsys, "experiment", str(spec_file), "--out", str(out), "--json")
    assert code == 0, err
    assert sorted(calls) == sorted(r.key for r in exp.runs)  # every run exactly once
    assert {p.name: p.read_bytes() for p in (out / "runs").glob("*.json") if p.name in kept} == kept
    doc = json.loads(stdout)
    assert doc["runs"] == 8 and doc["resumed_from"] == 3
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 8 and runs["reached"].all() and not runs["diverged"].any()
    assert (runs["time_to_target"] > 0).all() and (runs["time_to_target"] < 5).all()
    summary = pd.read_csv(out / "summary.csv")
    assert summary["runs"].tolist() == [2, 2, 2, 2] and (summary["reached_fraction"] == 1.0).all()
    base = summary[(summary["algo"] == "lock") & (summary["stepsize"] == "constant")]
    assert base["speedup"].tolist() == [1.0]
    # The report states its finding first: the fastest cell by Kaplan-Meier median.
    fastest = summary.sort_values("median_time_to_target").iloc[0]
    lead = (out / "index.md").read_text().split("\n\n")[1]
    assert lead.startswith(f"Fastest to the target: {fastest['cell']}, median")
    assert "problem digits-mlp, threads 2." in (out / "index.md").read_text()
    # An edited file reuses exactly the runs that still apply: one more repetition adds 4 runs.
    calls.clear()
    _write(tmp_path, EXPERIMENT.replace("count = 2", "count = 3"))
    code, stdout, _ = run_cli(capsys, "experiment", str(spec_file), "--out", str(out), "--json")
    assert code == 0 and len(calls) == 4 and json.loads(stdout)["resumed_from"] == 8
    assert (out / "index.html").exists() and (out / "time_to_target.png").exists()
    if chromium() is None:  # visible in the report, not silently passed
        pytest.skip("no headless Chromium here: the report's figures were not opened in a browser")
    assert images_loaded_in_chromium(out / "index.html", tmp_path) == (2, 2)


def _counting_runs(monkeypatch) -> list[tuple[str, dict]]:
    """Replace the run itself by a record of which runs were asked for (the resume logic is
    what is tested; a run's row only needs its key)."""
    calls: list[tuple[str, dict]] = []

    def fake(spec, exp):  # type: ignore[no-untyped-def]
        calls.append((spec.key, dict(spec.options)))
        return {"row": {"key": spec.key}, "curve": {}}

    monkeypatch.setattr(execute, "run_one", fake)
    return calls


def test_editing_an_option_reruns_exactly_the_runs_it_changes(tmp_path: Path, monkeypatch) -> None:
    calls = _counting_runs(monkeypatch)
    out = tmp_path / "out"
    run_experiment(load_experiment(_write(tmp_path, EXPERIMENT)), out)
    assert len(calls) == 8
    # eta applies to every cell: every run reruns (a key of grid labels and repetition alone
    # would wrongly reuse all eight).
    calls.clear()
    run_experiment(load_experiment(_write(tmp_path, EXPERIMENT.replace("eta = 0.05", "eta = 0.04"))), out)
    assert len(calls) == 8 and {o["eta"] for _, o in calls} == {0.04}
    # One grid value changed: only the runs of the cells that carry it rerun.
    calls.clear()
    edited = EXPERIMENT.replace("eta = 0.05", "eta = 0.04").replace(
        '"constant", "tail"', '"constant", "inverse"'
    )
    run_experiment(load_experiment(_write(tmp_path, edited)), out)
    assert len(calls) == 4 and {o["stepsize"] for _, o in calls} == {"inverse"}
    # The budget and the target are part of every run's key.
    calls.clear()
    run_experiment(load_experiment(_write(tmp_path, edited.replace("seconds = 5", "seconds = 6"))), out)
    assert len(calls) == 8


def test_reordering_the_grid_reuses_every_run(tmp_path: Path, monkeypatch) -> None:
    calls = _counting_runs(monkeypatch)
    out = tmp_path / "out"
    run_experiment(load_experiment(_write(tmp_path, EXPERIMENT)), out)
    assert len(calls) == 8
    calls.clear()
    reordered = EXPERIMENT.replace('["lock", "hogwild"]', '["hogwild", "lock"]').replace(
        '["constant", "tail"]', '["tail", "constant"]'
    )
    exp = load_experiment(_write(tmp_path, reordered))
    records = run_experiment(exp, out)
    assert calls == [] and set(records) == {r.key for r in exp.runs}


def test_a_diverging_step_is_recorded_not_raised(tmp_path: Path) -> None:
    exp = load_experiment(_write(tmp_path, DIVERGING))
    records = run_experiment(exp, tmp_path / "out")
    rows = {rec["row"]["eta"]: rec["row"] for rec in records.values()}
    assert rows[50.0]["diverged"] and not rows[50.0]["reached"]
    assert rows[50.0]["wall_time"] < 2.0  # stopped at once, not at the budget
    assert rows[0.05]["reached"] and not rows[0.05]["diverged"]


def test_bad_experiment_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown table\(s\) grids"):
        load_experiment(_write(tmp_path, EXPERIMENT.replace("[grid]", "[grids]")))
    with pytest.raises(ValueError, match=r"baseline .* matches 0 cells"):
        load_experiment(
            _write(tmp_path, EXPERIMENT.replace('algo = "lock", stepsize', 'algo = "sync", stepsize'))
        )
    with pytest.raises(ValueError, match="budget"):
        load_experiment(_write(tmp_path, EXPERIMENT.replace("seconds = 5", "seconds = -1")))


def test_the_same_experiment_on_a_dask_local_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    text = EXPERIMENT.replace('algo = ["lock", "hogwild"]', 'algo = ["lock"]').replace(
        "count = 2", "count = 1"
    )
    exp = load_experiment(_write(tmp_path, text))
    local = run_experiment(exp, tmp_path / "local")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            resources={"asgd-run": 1},
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = run_experiment(exp, tmp_path / "dask", scheduler=client)
    same = ["key", "cell", "algo", "stepsize", "repetition", "seed", "reached", "diverged"]
    assert [
        {k: r["row"][k] for k in same} for r in sorted(local.values(), key=lambda r: r["row"]["key"])
    ] == [{k: r["row"][k] for k in same} for r in sorted(remote.values(), key=lambda r: r["row"]["key"])]


PREDICTED = """
[run]
mode = "predict"
problem = "digits-mlp"
algo = "leashed"
profile = "server-2s-64"
calibrate_seconds = 0.3
calibrate_threads = 1
[grid]
threads = [1, 8]
[target]
loss_fraction = 0.1
check_every = 0.05
[budget]
seconds = 3
[repeat]
count = 2
baseline = { threads = 1 }
"""


def test_a_predicted_grid_spans_a_machine_this_one_is_not(tmp_path: Path) -> None:
    exp = load_experiment(_write(tmp_path, PREDICTED))
    _calibrated.cache_clear()
    records = run_experiment(exp, tmp_path / "out")
    assert _calibrated.cache_info().misses == 1  # one calibration (1 thread) serves both cells
    runs = runs_table(exp, records)
    assert len(runs) == 4 and runs["reached"].all()
    by_threads = runs.groupby("threads")["tau_mean"].mean()
    assert by_threads[1] == 0.0 and by_threads[8] > 3  # 8 simulated workers: staleness ~ 7
    summary = summary_table(exp, runs)
    assert summary["runs"].tolist() == [2, 2] and summary["speedup"].notna().all()


def test_a_calibration_probes_only_the_core_counts_it_serves(tmp_path: Path, monkeypatch) -> None:
    # Without calibrate_threads each thread count here is calibrated on itself (at most the
    # cores), so no contention probe is needed; with calibrate_threads = 1 the one
    # calibration serves every thread count, so it probes every core count here.
    import real_exec.study.predict.forecast as forecast_module

    probed = []

    def probe(problem, workers, seconds, shared=False):
        probed.append(workers)
        return tuple(1.0 + 0.1 * k for k in range(min(workers, usable_cores())))

    monkeypatch.setattr(forecast_module, "measure_contention", probe)
    here = PREDICTED.replace('profile = "server-2s-64"\n', "").replace("threads = [1, 8]", "threads = [1, 2]")
    default = here.replace("calibrate_threads = 1\n", "")
    for text, expected in ((default, []), (here, [usable_cores()])):
        _calibrated.cache_clear()
        probed.clear()
        run_experiment(load_experiment(_write(tmp_path, text)), tmp_path / f"out{len(expected)}")
        assert probed == ([] if usable_cores() == 1 else expected)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            ("threads = 2", 'threads = 2\nhidden = "128,,128"\nmodel = "mlp"\ndataset = "digits"'),
            "hidden must be layer widths",
        ),
        (
            ('problem = "digits-mlp"', 'model = "mlp"\ndataset = "mnist"\ndata_dir = "/nonexistent"'),
            "/nonexistent does not exist",
        ),
        (("eta = 0.05", "eta = -1"), "eta must be a finite number > 0"),
    ],
)
def test_every_cell_is_checked_before_any_run(capsys, tmp_path: Path, monkeypatch, edit, needle) -> None:
    text = EXPERIMENT.replace(*edit)
    if "hidden" in edit[1]:
        text = text.replace('problem = "digits-mlp"\n', "")
    calls = _counting_runs(monkeypatch)
    code, _, err = run_cli(capsys, "experiment", str(_write(tmp_path, text)), "--out", str(tmp_path / "out"))
    error = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(error) == 1 and "cell 0 (" in error[0] and needle in error[0], error
    assert calls == []  # nothing ran


def test_slow_workers_as_a_grid_option(tmp_path: Path, monkeypatch) -> None:
    # speeds in [grid] (a list of factor lists) gives one cell per setting; the runs of a file
    # that never names speeds keep the keys they had before the option existed.
    from real_exec.study.experiment.spec import run_key

    calls = _counting_runs(monkeypatch)
    plain = load_experiment(_write(tmp_path, EXPERIMENT))
    spec = plain.runs[0]
    without = {k: v for k, v in spec.options.items() if k not in ("speeds", "slow_mode")}
    assert spec.key == run_key(without, spec.seed, plain.target, plain.budget, plain.check_every)
    slowed = EXPERIMENT.replace('stepsize = ["constant", "tail"]', "speeds = [[1, 1], [1, 4.5]]").replace(
        ', stepsize = "constant"', ", speeds = [1, 1]"
    )
    exp = load_experiment(_write(tmp_path, slowed, "slow.toml"))
    assert exp.grid_keys == ("algo", "speeds") and len(exp.cells) == 4
    assert sorted({tuple(c["speeds"]) for c in exp.cells}) == [(1.0, 1.0), (1.0, 4.5)]
    run_experiment(exp, tmp_path / "out")
    assert len(calls) == 8 and len({key for key, _ in calls}) == 8
    for bad, needle in (("[1, 0]", "got 0"), ('["x"]', "got 'x'"), ("[]", "at least one")):
        with pytest.raises(ValueError, match=rf"cell 0 \(.*{needle}"):
            load_experiment(
                _write(tmp_path, slowed.replace("[1, 1], [1, 4.5]", f"{bad}, [1, 4.5]"), "bad.toml")
            )


def test_grid_cells_list_the_combinations_that_go_together(tmp_path: Path) -> None:
    """``cells`` in [grid]: Ringmaster is lock-based SGD with its rule, Rennala its own
    algorithm with S; crossed with the other grid lists, each run with its own key."""
    text = EXPERIMENT.replace(
        'algo = ["lock", "hogwild"]\nstepsize = ["constant", "tail"]',
        'cells = [{algo = "lock"}, {algo = "lock", stepsize = "ringmaster"},'
        ' {algo = "rennala", step_batch = 4}]\nspeeds = [[1, 1], [1, 4]]',
    ).replace(
        'baseline = { algo = "lock", stepsize = "constant" }',
        'baseline = { algo = "lock", stepsize = "constant", speeds = [1, 1] }',
    )
    exp = load_experiment(_write(tmp_path, text))
    got = [(c["algo"], c["stepsize"], c["step_batch"], tuple(c["speeds"])) for c in exp.cells]
    assert got == [
        ("lock", "constant", None, (1, 1)),
        ("lock", "constant", None, (1, 4)),
        ("lock", "ringmaster", None, (1, 1)),
        ("lock", "ringmaster", None, (1, 4)),
        ("rennala", "constant", 4, (1, 1)),
        ("rennala", "constant", 4, (1, 4)),
    ]
    assert set(exp.grid_keys) == {"algo", "stepsize", "step_batch", "speeds"}
    assert len({r.key for r in exp.runs}) == len(exp.runs) == 12
    for bad, says in (
        ('cells = [{algo = "lock", nope = 1}]', "unknown option"),
        ("cells = []", "non-empty list of option tables"),
        ('cells = [{algo = "lock"}]\nalgo = ["sync"]', "both as a list and in cells"),
    ):
        broken = EXPERIMENT.replace('algo = ["lock", "hogwild"]', bad)
        with pytest.raises(ValueError, match=says):
            load_experiment(_write(tmp_path, broken))
