"""``asgd validate`` and ``asgd compare``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from real_exec.app.main import main
from tests.helpers import chromium, images_loaded_in_chromium, run_cli


def test_validate_and_compare_cli(capsys, tmp_path: Path) -> None:
    code = main(
        [
            "validate",
            "--algo",
            "hogwild",
            "--threads",
            "2",
            "--seconds",
            "1",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and {"tv", "w1", "throughput_ratio", "cas_failure_rate", "profile"} <= set(doc)
    assert set(doc["cas_failure_rate"]) == {"real", "sim"}
    assert (tmp_path / "index.html").exists() and (tmp_path / "staleness_real_vs_sim.png").exists()
    code = main(
        ["compare", str(tmp_path / "trace_real.parquet"), str(tmp_path / "trace_sim.parquet"), "--json"]
    )
    doc2 = json.loads(capsys.readouterr().out)
    assert code == 0 and doc2["tv"] == pytest.approx(doc["tv"])
    code = main(["compare", str(tmp_path / "nope.parquet"), str(tmp_path / "trace_sim.parquet")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(chromium() is None, reason="no headless Chromium on this machine")
def test_validation_report_images_load_in_headless_chromium(capsys, tmp_path: Path) -> None:
    args = ["validate", "--algo", "lock", "--threads", "2", "--seconds", "0.5", "--out", str(tmp_path / "v")]
    assert main(args) == 0
    loaded, total = images_loaded_in_chromium(tmp_path / "v" / "index.html", tmp_path)
    assert total == 1 and loaded == 1


def test_compare_names_the_wrong_file_and_notes_what_differs(capsys, tmp_path: Path) -> None:
    sim = ["simulate", "--workers", "2", "--gradients", "500", "--out"]
    assert run_cli(capsys, *sim, str(tmp_path / "h"), "--algo", "hogwild")[0] == 0
    assert run_cli(capsys, *sim, str(tmp_path / "l"), "--algo", "leashed")[0] == 0
    table = tmp_path / "runs.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(table)
    code, out, err = run_cli(capsys, "compare", str(tmp_path / "h" / "trace.parquet"), str(table))
    assert (
        code == 2
        and out == ""
        and "TRACE_B" in err
        and str(table) in err
        and len(err.strip().splitlines()) == 1
    )
    code, out, _ = run_cli(
        capsys,
        "compare",
        str(tmp_path / "h" / "trace.parquet"),
        str(tmp_path / "l" / "trace.parquet"),
        "--json",
    )
    assert code == 0 and "the algorithms differ (hogwild against leashed)" in json.loads(out)["note"]


def test_sweep_jobs_zero_is_refused_in_our_words(capsys) -> None:
    code, out, err = run_cli(capsys, "sweep", "examples/sweep.toml", "--jobs", "0")
    assert code == 2 and out == "" and "0 processes cannot run anything" in err and "n_jobs" not in err


def test_validate_ringmaster_reports_it_and_refuses_r_without_the_lock(capsys) -> None:
    # --R makes the real run Ringmaster ASGD (lock-based, gradients of delay >= R thrown
    # away) and the simulation its threshold; the JSON says what was dropped on both sides.
    # With 3 threads on R = 1 some gradients meet a publish between their read and publish.
    code, out, err = run_cli(
        capsys, "validate", "--algo", "lock", "--threads", "3", "--R", "1", "--problem", "quadratic",
        "--seconds", "0.3", "--json",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["dropped_share"]["real"] > 0 and doc["dropped_share"]["sim"] > 0
    code, out, err = run_cli(capsys, "validate", "--algo", "hogwild", "--threads", "2", "--R", "2")
    assert code == 2 and out == "" and err.count("\n") == 1 and "--algo lock" in err
