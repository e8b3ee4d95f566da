"""The main job: ``asgd demo --quick`` writes a complete report whose images load."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from real_exec.app.demo import DemoPlan, _section_slow_worker, run_demo
from real_exec.app.report import Report
from real_exec.study import demo as study_demo
from tests.helpers import chromium, images_loaded_in_chromium
from theory.algorithms import ALGORITHMS

FIGURES = (
    "time_to_target",
    "experiment_curves",
    "staleness_real_vs_sim",
    "throughput_vs_workers",
    "predicted_time_to_target",
    "slow_worker",
    "stepsize_rules",
    "bound_vs_measured",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    run_demo(out, quick=True)
    return out


def test_report_has_every_figure_table_and_trace(report: Path) -> None:
    index = (report / "index.html").read_text()
    md = (report / "index.md").read_text()
    for name in FIGURES:
        assert f"{name}.png" in index and f"{name}.png" in md
        assert (report / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    validation = pd.read_csv(report / "validation.csv")
    assert len(validation) == 2 * len(ALGORITHMS) and validation["TV"].between(0, 1).all()
    experiment = pd.read_csv(report / "experiment.csv")
    assert len(experiment) == 6 and set(experiment["algo"]) == {"lock", "hogwild", "leashed"}
    assert (experiment["runs"] == 2).all() and (report / "experiment" / "runs.parquet").exists()
    assert len(list((report / "experiment" / "runs").glob("*.json"))) == 12
    predicted = pd.read_csv(report / "prediction.csv")
    cells = predicted.groupby(["algo", "rule"]).size()
    assert len(cells) == 3 and (cells == 2).all()  # constant steps: 2 threads here; 4 on the server
    assert set(predicted.loc[predicted["machine"] == "here", "workers"]) == {2}
    server = predicted[predicted["machine"] == "server-2s-64"]
    assert set(server["workers"]) == {4} and (server["tau_mean"] > 2).all()
    here = predicted[predicted["machine"] == "here"]
    assert (here["reached"] == 1).all()  # the workload the experiment's 2-thread runs reached
    bounds = pd.read_csv(report / "bounds.csv")
    assert set(bounds["tightest theorem"]) <= {"classic", "average-delay", "workers"}
    assert (bounds["iterations to epsilon"] <= bounds["classic: iterations"]).all()
    times = pd.read_csv(report / "time_bounds.csv")
    assert len(times) == 8 and times.groupby("machine")["tightest"].sum().eq(1).all()
    assert (times["time bound (s)"] > 0).all()
    server = times[times["machine"].str.startswith("server")]
    # one worker 10x slower among 64: the optimum leaves it out
    assert (server["optimal workers"] == 63).all() and (server["workers"] == 64).all()
    traces = sorted(p.stem for p in (report / "traces").glob("*.parquet"))
    assert len(traces) == 4 * len(ALGORITHMS)  # the algorithms x {1, 2} threads x {real, simulated}
    # The conclusions in words at the top: the fastest cell here, with its time, and the forecast.
    lead = md.split("\n\n")[1]
    fastest = experiment.sort_values("median_time_to_target").iloc[0]
    assert (
        lead.startswith("On this machine") and fastest["cell"] in lead and "Forecast for the 64-core" in lead
    )
    assert f"{fastest['median_time_to_target']:.2f} s" in lead
    # Each stage's time on this machine, and times to target many check intervals long (the
    # interval, 0.025 s or 0.01 s, must not decide the ranking).
    stages = pd.read_csv(report / "stage_seconds.csv")
    assert len(stages) == 8 and (stages["seconds"] > 0).all()
    # A slow worker: synchronous SGD and lock-based, forecast from a calibration without it.
    slow = pd.read_csv(report / "slow_worker.csv")
    assert list(slow["algo"]) == ["sync", "lock"]
    assert (slow["predicted/measured"] == slow["predicted_median"] / slow["measured_median"]).all()
    assert "speeds (1,4)" in md
    runs = pd.read_parquet(report / "experiment" / "runs.parquet")
    check = 0.025 if "Fashion-MNIST" in lead else 0.01
    assert runs.loc[runs["reached"], "time_to_target"].median() >= 15 * check


@pytest.mark.skipif(chromium() is None, reason="no headless Chromium on this machine")
def test_report_images_load_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    loaded, total = images_loaded_in_chromium(report / "index.html", tmp_path)
    assert total == len(FIGURES) and loaded == total


def test_a_slow_worker_run_that_misses_its_target_is_reported_as_such(tmp_path: Path) -> None:
    """On a slower machine a synchronous run with the slow worker can miss the target within
    its budget (an infinite time, infinite quartiles): the section still draws its figure,
    and says so in words instead of "inf s"."""
    inf = float("inf")
    table = pd.DataFrame(
        [
            {"algo": "sync", "predicted_median": 12.0, "predicted_q25": 11.0, "predicted_q75": 13.5,
             "measured_median": inf, "measured_q25": inf, "measured_q75": inf, "predicted/measured": 0.0},
            {"algo": "lock", "predicted_median": 3.4, "predicted_q25": 3.2, "predicted_q75": 3.6,
             "measured_median": 3.5, "measured_q25": 3.3, "measured_q75": 3.7, "predicted/measured": 0.97},
        ]
    )  # fmt: skip
    slow = study_demo.SlowWorker((1.0, 4.0), table, 1, 0.82, 40.0)
    report = Report(tmp_path, "slow")
    lines = _section_slow_worker(report, slow, None, DemoPlan.default(quick=True))  # type: ignore[arg-type]
    assert [line["value"] for line in lines] == [
        "predicted 12.00 s, measured not reached within 40 s",
        "predicted 3.40 s, measured 3.50 s",
    ]
    assert (tmp_path / "slow_worker.png").read_bytes()[:4] == b"\x89PNG"
    assert "budget is 40 s" in report.write().with_suffix(".md").read_text()
