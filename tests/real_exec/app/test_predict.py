"""``asgd predict``: calibrate, simulate, replay; with --measure, real runs beside."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from real_exec.executor.machine import usable_cores
from tests.helpers import argv, chromium, images_loaded_in_chromium, run_cli
from theory.survival import speedup_interval


def test_predict_json_with_measurement(capsys, tmp_path: Path) -> None:
    args = argv(
        "predict --algo leashed --threads 2 --problem digits-mlp --target-loss-fraction 0.1 "
        "--budget-seconds 3 --reps 2 --calibrate-seconds 0.5 --check-every 0.05 --measure --json"
    )
    code, out, err = run_cli(capsys, *args, "--out", str(tmp_path / "p"))
    assert code == 0, err
    doc = json.loads(out)
    predicted, measured = doc["predicted"], doc["measured"]
    assert len(predicted["per_rep"]) == 2 and len(measured["per_rep"]) == 2
    assert predicted["reached_fraction"] == 1.0 and measured["reached_fraction"] == 1.0
    assert 0 < predicted["time_to_target_median"] < 3 and 0 < measured["time_to_target_median"] < 3
    assert doc["ratio"] == predicted["time_to_target_median"] / measured["time_to_target_median"]
    times = [[r["time_to_target"] for r in d["per_rep"]] for d in (predicted, measured)]
    expected_p = stats.logrank(times[0], times[1]).pvalue  # every run reached: nothing censored
    assert doc["logrank_p"] == pytest.approx(expected_p, rel=1e-12)
    # The ratio's bootstrap interval: independent resamples of both (seeded, so reproducible).
    everyone = [[True] * 2, [True] * 2]
    _, low, high = speedup_interval((times[0], everyone[0]), (times[1], everyone[1]), paired=False)
    assert doc["ratio_interval"] == pytest.approx([low, high], rel=1e-12) and low <= high
    assert doc["hogwild_reads"] == "exact" and doc["calibrated_on_threads"] == 2
    predicted_table = pd.read_parquet(tmp_path / "p" / "predicted.parquet")
    assert predicted_table["time_to_target"].tolist() == [r["time_to_target"] for r in predicted["per_rep"]]
    assert len(pd.read_parquet(tmp_path / "p" / "measured.parquet")) == 2
    page = (tmp_path / "p" / "index.html").read_text()
    assert "calibrated on 2 thread(s)" in page and "busy core(s)" not in page  # no caution needed
    if chromium() is not None:
        assert images_loaded_in_chromium(tmp_path / "p" / "index.html", tmp_path) == (1, 1)


def test_predict_on_another_machine_takes_its_cores(capsys) -> None:
    args = argv(
        "predict --algo hogwild --threads 8 --problem digits-mlp --profile server-2s-64 "
        "--target-loss-fraction 0.1 --budget-seconds 2 --reps 1 --calibrate-seconds 0.3 "
        "--calibrate-threads 1 --json"
    )
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["profile"]["cores"] == 64 and doc["profile"]["sockets"] == 2
    assert doc["hogwild_reads"].startswith("approximated") and doc["calibrated_on_threads"] == 1
    assert doc["predicted"]["per_rep"][0]["tau_mean"] > 3  # 8 workers: staleness about 7
    assert "measured" not in doc
    assert doc["profile"]["contention"] == [1.0]  # the other machine's, not this one's


def test_predicting_more_threads_than_calibrated_measures_their_contention(capsys) -> None:
    common = (
        "predict --algo hogwild --threads 2 --problem digits-mlp --target-loss-fraction 0.1 "
        "--budget-seconds 1 --reps 1 --calibrate-seconds 0.3 --calibrate-threads 1 --json"
    )
    code, out, err = run_cli(capsys, *argv(common + " --contention-seconds 0.2"))
    assert code == 0, err
    contention = json.loads(out)["profile"]["contention"]
    # Relative to the 1-thread calibration: entry 1 is 1; 2 entries where 2 cores exist.
    assert contention[0] == 1.0 and len(contention) == min(2, usable_cores())
    code, out, err = run_cli(capsys, *argv(common + " --contention-seconds 0 --lost-update-seconds 0"))
    assert code == 0, err
    profile = json.loads(out)["profile"]
    assert profile["lost_on_overlap"] == 0.0 and profile["publish_contention"] == [1.0]  # no probe ran
    # Where 2 cores exist the 2 workers occupy both, and the main thread's share of the
    # 1-thread calibration run (a few percent here) is taken from them: the only entry set.
    contention = profile["contention"]
    assert contention[0] == 1.0 and len(contention) == min(2, usable_cores())
    assert all(1.0 <= f < 1.5 for f in contention)
    # The text says how the replay approximates HOGWILD! and what the lost-update probe found.
    code, out, err = run_cli(capsys, *argv(common.replace(" --json", "") + " --contention-seconds 0"))
    assert code == 0, err
    assert "HOGWILD!: approximated by consistent stale reads" in out and "loses a stretch" in out
    assert "lost_on_overlap" in out and "of an update's coordinates" in out
    # Calibrated on 1 thread for 2 busy cores: the rate may be optimistic, and the text says so.
    cautioned = "calibrated with 1 busy core(s), predicted with 2" in out
    assert cautioned == (usable_cores() >= 2)


@pytest.mark.skipif(usable_cores() < 2, reason="the probes need two busy cores")
def test_predicting_lock_based_sgd_from_one_thread_says_what_the_probes_found(capsys) -> None:
    # One lock-based thread never waits for the lock nor shares its vector: the publish
    # probe's factor and the hand-off timed by the lock probe are printed with the
    # gradient's.
    code, out, err = run_cli(
        capsys,
        *argv(
            "predict --algo lock --threads 2 --problem digits-mlp --target-loss-fraction 0.1 "
            "--budget-seconds 1 --reps 1 --calibrate-seconds 0.3 --calibrate-threads 1 "
            "--contention-seconds 0.2"
        ),
    )
    assert code == 0, err
    assert "(contention probe, and the main thread's evaluations on the cores)" in out
    assert "with 2 threads against 1 (publish probe)" in out
    assert "the lock's hand-off" in out


def test_predict_needs_a_target(capsys) -> None:
    code, out, err = run_cli(capsys, *argv("predict --algo lock --threads 2 --problem digits-mlp"))
    assert code == 2 and out == "" and "target" in err and len(err.strip().splitlines()) == 1


def test_a_check_interval_longer_than_the_budget_is_refused(capsys) -> None:
    code, out, err = run_cli(
        capsys,
        *argv(
            "predict --algo lock --threads 1 --problem digits-mlp --check-every 100 --budget-seconds 3 "
            "--target-accuracy 0.9"
        ),
    )
    assert code == 2 and out == "" and "check_every 100 s is longer than the budget of 3 s" in err


def test_a_diverged_run_says_so(capsys) -> None:
    code, out, _ = run_cli(
        capsys, *argv("run --algo lock --threads 1 --problem digits-mlp --eta 100 --seconds 1")
    )
    assert code == 0 and "diverged: the loss became NaN" in out


def test_slow_workers_on_shared_cores_get_the_placement_note() -> None:
    # The simulated workers keep their cores; with workers of different speeds on fewer cores
    # than threads the forecast says so. A core each, or equal speeds: no note.
    from types import SimpleNamespace

    from real_exec.app.predict import _placement_note

    (note,) = _placement_note(SimpleNamespace(threads=3, speeds=(1.0, 4.0)), 2)
    assert "3 workers of different speeds on 2 cores" in note and "core i mod 2" in note
    assert _placement_note(SimpleNamespace(threads=2, speeds=(1.0, 4.0)), 2) == []
    assert _placement_note(SimpleNamespace(threads=3, speeds=(1.0,)), 2) == []
    assert _placement_note(SimpleNamespace(threads=3, speeds=(1.0, 4.0)), None) == []
