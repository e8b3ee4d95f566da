"""The ``asgd`` command line: JSON contracts and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import argv
from tests.helpers import run_cli as run
from theory.staleness import Poisson
from theory.trace import Trace


def test_version_and_help(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("asgd, version ")
    code, out, _ = run(capsys, "--help")
    assert code == 0 and all(c in out for c in ("stepsize", "bound", "fit", "demo"))


def test_stepsize_tail_json(capsys) -> None:
    code, out, _ = run(capsys, *argv("stepsize tail --pmf poisson:7 --json"))
    doc = json.loads(out)
    assert code == 0
    assert set(doc) >= {"rule", "tau", "scale", "pmf", "expected_scale", "properties"}
    assert doc["tau"][0] == 0 and len(doc["tau"]) == len(doc["scale"]) == len(doc["pmf"])
    # Default N covers 99.9% of the mass of Poisson(7).
    assert sum(doc["pmf"]) >= 0.999 and sum(doc["pmf"][:-1]) < 0.999
    assert doc["scale"][0] == pytest.approx(1.5, abs=1e-3) and doc["properties"]["non_increasing"]
    assert all(0.5 - 1e-12 <= s <= 1.5 + 1e-12 for s in doc["scale"])


def test_stepsize_plot_and_text(capsys, tmp_path: Path) -> None:
    png = tmp_path / "s.png"
    code, out, _ = run(
        capsys, "stepsize", "mindthestep", "--pmf", "geometric:m=8", "--K", "0.5", "--plot", str(png)
    )
    assert code == 0 and "properties:" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bound_nonconvex_json(capsys) -> None:
    code, out, _ = run(
        capsys,
        *argv("bound nonconvex --L 1 --sigma2 1 --f0 10 --pmf poisson:m=8 --rule tail --epsilon 0.1 --json"),
    )
    doc = json.loads(out)
    assert code == 0
    assert set(doc) >= {"bound", "iterations_to_epsilon", "eta", "source", "assumptions"}
    assert doc["eta_chosen"] and doc["eta"] <= doc["eta_max"]
    assert doc["iterations_to_epsilon"] > 0 and "Stich" in doc["source"]


def test_bound_all_theorems_and_the_tightest(capsys) -> None:
    # tau_max = 16 tau_avg: the average-delay theorems allow a step 4x (sqrt(64 * 4) = 16
    # against 65) and 11x (cutoff) the classic one, and need fewer iterations.
    args = "bound nonconvex --L 1 --sigma2 1 --f0 10 --tau-max 64 --tau-avg 4 --epsilon 0.1 --all --json"
    code, out, _ = run(capsys, *argv(args))
    doc = json.loads(out)
    assert code == 0
    by_name = {b["theorem"]: b for b in doc["bounds"]}
    assert set(by_name) == {"classic", "average-delay", "average-delay-cutoff"}
    assert set(doc["not_applicable"]) == {"workers"}  # no --workers
    classic = by_name["classic"]["iterations_to_epsilon"]
    assert by_name["average-delay"]["eta_max"] == pytest.approx(1 / (2 * 16))
    assert by_name["classic"]["eta_max"] == pytest.approx(1 / (2 * 65))
    for name in ("average-delay", "average-delay-cutoff"):
        assert by_name[name]["iterations_to_epsilon"] < classic
    best = min(doc["bounds"], key=lambda b: b["iterations_to_epsilon"])
    assert doc["tightest"] == best["theorem"] == "average-delay"
    assert by_name["average-delay-cutoff"]["rule"] == "cutoff"
    code, out, _ = run(capsys, *argv(args.replace("--json", "--workers 5")))
    assert code == 0 and "* average-delay " in out and "workers" in out


def test_a_theorem_that_does_not_apply_is_refused(capsys) -> None:
    code, _, err = run(
        capsys, *argv("bound pl --L 1 --mu 0.1 --sigma2 1 --f0 1 --tau-max 8 --epsilon 0.1 --theorem workers")
    )
    assert code == 2 and "covers the nonconvex and convex bounds only, not the pl bound" in err
    code, _, err = run(
        capsys, *argv("bound nonconvex --L 1 --sigma2 1 --f0 1 --tau-max 8 --epsilon 0.1 --theorem workers")
    )
    assert code == 2 and "--workers" in err


def test_bound_pl_with_given_eta(capsys) -> None:
    code, out, _ = run(
        capsys,
        *argv("bound pl --L 1 --mu 0.1 --sigma2 1 --f0 1 --tau-max 3 --eta 0.01 --iterations 1000 --json"),
    )
    doc = json.loads(out)
    assert code == 0 and doc["eta"] == 0.01 and not doc["eta_chosen"]
    assert doc["bound"] == pytest.approx((1 - 0.001) ** 1000 + 0.01 / 0.2 + 0.01**2 * 3 / 0.1)


def test_fit_on_a_saved_trace(capsys, tmp_path: Path) -> None:
    tau = Poisson(3.0).rvs(2000, np.random.default_rng(0))
    n = tau.size
    version = np.arange(1, n + 1)
    Trace.from_columns(
        worker=np.zeros(n, dtype=int),
        read_version=version - 1 - tau,
        apply_version=version,
        t_read=np.zeros(n),
        t_grad_done=np.zeros(n),
        t_apply=np.zeros(n),
        attempts=np.ones(n, dtype=int),
        step_size=np.full(n, 0.1),
    ).save(tmp_path / "run")
    code, out, _ = run(capsys, "fit", str(tmp_path / "run.parquet"), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["samples"] == n
    fits = {f["model"]: f for f in doc["fits"]}
    assert fits["poisson"]["params"]["lambda"] == pytest.approx(tau.mean())
    assert fits["poisson"]["tv"] < fits["geometric"]["tv"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (argv("stepsize tail --pmf poisson:7 --amplitude 1.5"), "--amplitude"),
        (["stepsize", "tail", "--pmf", "poisson:-1"], "--pmf"),
        (["stepsize", "tail", "--pmf", "poisson:nan"], "--pmf"),
        (["stepsize", "tail", "--pmf", "pmf:0.2,0.3"], "sum to 1"),
        (["stepsize", "nope", "--pmf", "poisson:1"], "RULE"),
        (["stepsize", "tail", "--pmf", "empirical:/no/such/file.csv"], "--pmf"),
        (
            argv("bound nonconvex --L nan --sigma2 1 --f0 1 --tau-max 2 --iterations 5"),
            "--L",
        ),
        (
            argv("bound nonconvex --L 1 --sigma2 -1 --f0 1 --tau-max 2 --iterations 5"),
            "--sigma2",
        ),
        (argv("bound nonconvex --L 1 --sigma2 1 --f0 1 --tau-max 2"), "--iterations"),
        (argv("bound convex --L 1 --sigma2 1 --tau-max 2 --iterations 5"), "r0"),
        (
            argv("bound nonconvex --L 1 --sigma2 1 --f0 1 --tau-max 2 --rule tail --iterations 5"),
            "--pmf",
        ),
        (["fit", "/no/such/trace.parquet"], "FILE"),
    ],
)
def test_bad_input_is_one_line_with_status_2(capsys, args: list[str], needle: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_options_that_cannot_apply_are_refused_or_noted(capsys) -> None:
    # The PL bound has no average-delay form: --tau-avg was ignored while the text showed it.
    code, out, err = run(
        capsys, *argv("bound pl --L 1 --mu 0.1 --sigma2 1 --f0 1 --tau-max 15 --tau-avg 7 --iterations 100")
    )
    assert code == 2 and out == "" and "--tau-avg" in err and "pl bound" in err
    # --tau-max cutting a --pmf is said, with the probability it drops (Poisson(7): P(tau > 5) = 0.70).
    code, out, _ = run(
        capsys,
        *argv("bound nonconvex --L 1 --sigma2 1 --f0 10 --pmf poisson:m=8 --tau-max 5 --epsilon 0.1 --json"),
    )
    assert code == 0 and json.loads(out)["note"].startswith(
        "note: --tau-max 5 cuts the pmf: P(tau > 5) = 0.699"
    )
    code, out, _ = run(
        capsys, *argv("bound nonconvex --L 1 --sigma2 1 --f0 10 --pmf poisson:m=8 --epsilon 0.1 --json")
    )
    assert code == 0 and "note" not in json.loads(out)


def test_a_rule_that_reduces_to_the_constant_step_says_so(capsys) -> None:
    # MindTheStep's default K is E[tau]/(1 + E[tau]): a geometric pmf's own q, so that
    # (1 - K) K^tau / P(tau) = 1 for every tau. Said, not left for the user to notice.
    code, out, _ = run(capsys, *argv("stepsize mindthestep --pmf geometric:m=8 --json"))
    doc = json.loads(out)
    assert code == 0 and np.allclose(doc["scale"], 1.0, rtol=1e-6) and "a constant step" in doc["note"]
    code, out, _ = run(capsys, *argv("stepsize mindthestep --pmf poisson:m=8 --json"))
    assert code == 0 and "note" not in json.loads(out)  # the README's example: the rule at work


def test_fit_names_the_file_the_user_gave(capsys, tmp_path: Path) -> None:
    image = tmp_path / "tail.png"
    image.write_bytes(b"\x89PNG")
    code, _, err = run(capsys, "fit", str(image))
    assert code == 2 and str(image) in err and "tail.parquet" not in err and "not a .png file" in err


def test_bound_time_table_and_json(capsys) -> None:
    base = "bound time --profile server-2s-64 --workers 64 --pattern linear"
    base += " --L 1 --sigma2 1 --f0 10 --epsilon 0.1"
    code, out, _ = run(capsys, *argv(base))
    assert code == 0
    assert all(m in out for m in ("minibatch", "asynchronous", "ringmaster", "rennala"))
    assert "* rennala" in out or "* ringmaster" in out
    code, out, _ = run(capsys, *argv(base + " --json"))
    doc = json.loads(out)
    assert code == 0 and doc["workers"] == 64 and len(doc["times"]) == 64
    # linear speeds 1..64: only the fastest few are worth using, and asynchronous SGD on all
    # 64 is slower than the optimum by the papers' rates
    assert doc["optimal_workers"] < 64 and doc["asynchronous_over_optimum_rate"] > 1.5
    best = min(doc["bounds"], key=lambda b: b["time"])
    assert doc["tightest"] == best["method"] and doc["asynchronous_over_best_bound"] > 1.0


def test_bound_time_from_tau_and_trace(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, *argv("bound time --tau 1,1,4 --L 1 --sigma2 1 --f0 10 --epsilon 0.1 --json"))
    assert code == 0 and json.loads(out)["times"] == [1.0, 1.0, 4.0]
    n = 40
    worker = np.arange(n) % 2
    k = np.arange(n) // 2
    t_read = np.where(worker == 0, k * 1.0, k * 3.0)
    trace = Trace.from_columns(
        worker=worker, read_version=np.zeros(n), apply_version=np.ones(n), t_read=t_read,
        t_grad_done=t_read + np.where(worker == 0, 1.0, 3.0),
        t_apply=t_read + np.where(worker == 0, 1.0, 3.0),
        attempts=np.ones(n), step_size=np.ones(n), dropped=np.zeros(n, dtype=bool),
    )  # fmt: skip
    trace.save(tmp_path / "t")
    code, out, _ = run(
        capsys, *argv(f"bound time --trace {tmp_path / 't'} --L 1 --sigma2 1 --f0 1 --epsilon 1 --json")
    )
    assert code == 0 and json.loads(out)["times"] == pytest.approx([1.0, 3.0])


@pytest.mark.parametrize(
    "args, says",
    [
        ("--tau 1,2 --profile laptop-2", "exactly one of"),
        ("--profile laptop-2", "--workers"),
        ("--tau 1,0", "> 0"),
        ("--tau 1,x", "not a list of numbers"),
        ("--tau 1 --pattern linear", "go with --profile"),
        ("--profile laptop-2 --workers 2 --pattern nope", "speed pattern must be one of"),
        ("--profile nope --workers 2", "neither a file"),
        ("--trace /nonexistent/t", "no trace table"),
    ],
)
def test_bound_time_errors(capsys, args: str, says: str) -> None:
    code, _, err = run(capsys, *argv(f"bound time {args} --L 1 --sigma2 1 --f0 1 --epsilon 1"))
    assert code == 2 and says in err and err.count("\n") == 1


def test_bound_ringmaster_takes_r_from_sigma2_over_epsilon(capsys) -> None:
    """Without --R, asgd bound takes Ringmaster's R = ceil(sigma2/epsilon) = 5 here: E[s] is
    P(tau < 5) under the pmf; with --R 2 it is P(tau < 2)."""
    pmf = Poisson(7.0).pmf(np.arange(200))
    base = "bound nonconvex --L 1 --sigma2 1 --f0 10 --pmf poisson:7 --rule ringmaster --epsilon 0.2 --json"
    code, out, _ = run(capsys, *argv(base))
    assert code == 0 and json.loads(out)["delays"]["m1"] == pytest.approx(pmf[:5].sum(), rel=1e-6)
    code, out, _ = run(capsys, *argv(base + " --R 2"))
    assert code == 0 and json.loads(out)["delays"]["m1"] == pytest.approx(pmf[:2].sum(), rel=1e-6)


def test_bound_time_simulate_gives_each_method_a_simulated_time_within_its_bound(capsys) -> None:
    """--simulate runs each method on a quadratic with the given constants: the simulated
    times to epsilon are within the bounds (the bounds hold; tests/staleness_sim/
    test_time_check.py holds them to more cases)."""
    cmd = "bound time --tau 1,1,4 --L 1 --sigma2 1 --f0 10 --epsilon 0.1 --simulate --json"
    code, out, _ = run(capsys, *argv(cmd))
    doc = json.loads(out)
    assert code == 0
    for b in doc["bounds"]:
        assert b["simulated"] is not None and 0 < b["simulated"] <= b["time"], b["method"]
