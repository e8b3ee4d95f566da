from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import SUMMARY_KEYS, argv
from tests.helpers import run_cli as run
from theory.trace import Trace

KEYS = SUMMARY_KEYS | {"mean_live_vectors", "engine", "seed"}


def test_simulate_json_contract(capsys) -> None:
    code, out, _ = run(
        capsys, *argv("simulate --algo hogwild --workers 4 --updates 5000 --compute expon:scale=1 --json")
    )
    doc = json.loads(out)
    assert code == 0 and set(doc) >= KEYS
    assert doc["updates"] == 5000 and doc["engine"] == "fast" and doc["seed"] == 0  # auto: fast applies
    assert sum(doc["tau_pmf"].values()) == pytest.approx(1.0)
    assert doc["tau_mean"] == pytest.approx(3.0, rel=0.1)


def test_simulate_with_profile_problem_and_out(capsys, tmp_path: Path) -> None:
    code, out, _ = run(
        capsys,
        "simulate",
        "--algo",
        "leashed",
        "--workers",
        "8",
        "--profile",
        "workstation-16",
        "--persistence",
        "3",
        "--updates",
        "3000",
        "--problem",
        "quadratic",
        "--stepsize",
        "tail",
        "--out",
        str(tmp_path),
        "--json",
    )
    doc = json.loads(out)
    trace = Trace.load(tmp_path / "trace.parquet")
    assert code == 0 and len(trace) == 3000
    assert trace.meta["algorithm"] == "leashed" and trace.meta["stepsize"] == "tail"
    # The reported loss is the saved curve's last point, and SGD made progress on it.
    curve = pd.read_parquet(tmp_path / "loss.parquet")
    assert doc["final_loss"] == curve["loss"].iloc[-1] < 0.5 * curve["loss"].iloc[0]
    # TAIL-tau took larger steps for fresher updates: the steps taken differ by staleness.
    applied = trace.applied()
    fresh = applied.loc[applied["tau"] == applied["tau"].min(), "step_size"]
    stale = applied.loc[applied["tau"] == applied["tau"].max(), "step_size"]
    assert fresh.min() > stale.max()
    for name in ("staleness.png", "loss.png", "loss.parquet"):
        assert (tmp_path / name).stat().st_size > 0


def test_fast_engine_from_the_cli_agrees(capsys) -> None:
    args = argv("simulate --algo hogwild --workers 4 --updates 3000 --seed 7 --json")
    _, simpy_out, _ = run(capsys, *args, "--engine", "simpy")
    _, fast_out, _ = run(capsys, *args, "--engine", "fast")
    a, b = json.loads(simpy_out), json.loads(fast_out)
    assert a["tau_pmf"] == b["tau_pmf"] and a["throughput"] == b["throughput"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--algo", "magic", "--workers", "2"], "--algo"),
        (["--algo", "lock", "--workers", "0"], "--workers"),
        (argv("--algo lock --workers 2 --compute expon:scale=-1"), "--compute"),
        (argv("--algo lock --workers 2 --publish bogus"), "--publish"),
        (argv("--algo lock --workers 2 --profile /no/such.toml"), "profile"),
        (argv("--algo lock --workers 2 --persistence 2"), "--persistence"),
        (argv("--algo leashed --workers 4 --cores 2 --engine fast"), "fast engine"),
        (argv("--algo leashed --workers 2 --no-trace --out somewhere"), "--no-trace"),
        (argv("--algo lock --workers 2 --no-trace --problem quadratic"), "--no-trace"),
    ],
)
def test_simulate_bad_input(capsys, args: list[str], needle: str) -> None:
    code, out, err = run(capsys, "simulate", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and needle in err


@pytest.mark.parametrize("algo", ["hogwild", "leashed"])
def test_simulate_and_compare_report_one_throughput_for_one_trace(capsys, tmp_path: Path, algo: str) -> None:
    # One definition of throughput (theory.analysis): the JSON of `asgd simulate` and that
    # of `asgd compare` on the Trace it saved give the same number, to the last bit.
    args = ["--algo", algo, "--workers", "4", "--updates", "3000", "--publish", "expon:scale=0.05"]
    code, out, _ = run(capsys, "simulate", *args, "--out", str(tmp_path), "--json")
    assert code == 0
    simulated = json.loads(out)["throughput"]
    trace = str(tmp_path / "trace.parquet")
    code, out, _ = run(capsys, "compare", trace, trace, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["throughput_a"] == doc["throughput_b"] == simulated
    assert 3.0 < simulated < 4.0  # 4 workers of mean compute 1.05: a little under 4 per unit


@pytest.mark.parametrize("algo", ["lock", "leashed"])
def test_no_trace_gives_the_same_summary(capsys, algo: str) -> None:
    args = argv(f"simulate --algo {algo} --workers 8 --updates 20000 --publish expon:scale=0.05 --json")
    _, full, _ = run(capsys, *args, "--engine", "simpy")
    code, light, _ = run(capsys, *args, "--no-trace")
    a, b = json.loads(full), json.loads(light)
    assert code == 0 and b["engine"] == "fast" and a["engine"] == "simpy"
    assert {k: v for k, v in a.items() if k != "engine"} == {k: v for k, v in b.items() if k != "engine"}


def test_a_start_up_transient_is_said_and_zero_compute_refused(capsys) -> None:
    code, out, _ = run(capsys, *argv("simulate --algo hogwild --workers 1000 --gradients 10 --json"))
    assert code == 0 and "describe the start-up, not the steady state" in json.loads(out)["note"]
    code, out, _ = run(capsys, *argv("simulate --algo hogwild --workers 4 --gradients 1000 --json"))
    assert code == 0 and "note" not in json.loads(out)
    code, out, err = run(
        capsys, *argv("simulate --algo hogwild --workers 2 --compute const:0 --gradients 10")
    )
    assert code == 2 and out == "" and "--compute" in err and "a gradient must take time" in err


def test_the_shipped_profiles_are_listed_by_the_names_profile_takes(capsys) -> None:
    code, out, _ = run(capsys, "profiles", "--json")
    names = [p["name"] for p in json.loads(out)["profiles"]]
    assert code == 0 and names == ["laptop-2", "server-2s-64", "workstation-16"]
    assert [p["cores"] for p in json.loads(out)["profiles"]][1] == 64
