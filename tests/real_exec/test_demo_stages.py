"""The demo's stages, each run alone on small inputs (the whole demo: app/test_demo.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from real_exec.study import demo
from real_exec.study.experiment.spec import experiment_toml, load_experiment, parse_experiment
from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import parse_timing
from theory.spec import make_rule
from theory.staleness import Empirical


def test_the_step_for_measured_staleness_ignores_the_longest_one_percent() -> None:
    # 980 fresh updates, 19 of staleness 3 and one outlier of 1000: the 99th percentile is 3,
    # so eta0 = 1 / (2 L (3 + 1)); the outlier alone would make it 1 / (2 L 1001).
    tau = np.r_[np.zeros(980, dtype=int), np.full(19, 3), [1000]]
    assert demo.eta_for_staleness(2.0, tau) == pytest.approx(1 / (2 * 2.0 * 4))


def _traces(workers: int) -> dict[tuple[str, int], object]:
    profile = HardwareProfile(compute=parse_timing("expon:scale=1"), publish=parse_timing("const:0.01"))
    return {
        (algo, workers): simulate(SimConfig(algo, workers, profile, 3000, seed=1)).trace
        for algo in ("hogwild", "leashed")
    }


def test_rules_are_compared_under_each_algorithms_staleness() -> None:
    traces = _traces(8)
    c = demo.compare_rules(traces, 8, rules=("constant", "tail"), shown="leashed")  # type: ignore[arg-type]
    assert list(zip(c.table["algo"], c.table["rule"], strict=True)) == [
        ("hogwild", "constant"),
        ("hogwild", "tail"),
        ("leashed", "constant"),
        ("leashed", "tail"),
    ]
    assert set(c.curves) == {"constant", "tail"}
    # s(tau) of each rule from the shown algorithm's first 10% of updates (its warm-up)
    tau = traces[("leashed", 8)].staleness()  # type: ignore[attr-defined]
    warm = Empirical.from_samples(tau[: tau.size // 10])
    k = np.arange(warm.probs.size)
    np.testing.assert_allclose(c.scales["tail"], make_rule("tail", warm)(k))
    # Under 8 workers' staleness both rules reach 5% of the initial loss within 3000 updates.
    assert c.table["time to 5% of the initial loss (s)"].notna().all()
    assert all(curve.loss[-1] < 0.5 * curve.loss[0] for curve in c.curves.values())


def test_bounds_for_measured_staleness_hold_against_delayed_sgd() -> None:
    tau = _traces(4)[("leashed", 4)].staleness()  # type: ignore[attr-defined]
    b = demo.staleness_bounds({"leashed": tau}, tau, runs=16, rules=("constant", "inverse"))
    assert b.table["rule"].tolist() == ["constant", "inverse"]
    assert (b.table["iterations to epsilon"] <= b.table["classic: iterations"]).all()
    # The PL bound is on an expectation; 16 runs' mean stays below it here with a wide margin
    # (the bound is 2-10x the measured gap over these iterations).
    assert b.iterations.shape == b.pl_bound.shape == b.pl_measured.shape
    assert (b.pl_measured <= b.pl_bound).all()


def test_the_demo_experiment_file_is_the_experiment_that_ran(tmp_path: Path) -> None:
    data = {
        "run": {"model": "mlp", "dataset": "digits", "threads": 2, "eta": 0.05},
        "grid": {"algo": ["lock", "hogwild"], "stepsize": ["constant", "tail"]},
        "target": {"test_accuracy": 0.9, "check_every": 0.05},
        "budget": {"seconds": 2.5},
        "repeat": {"count": 2, "seed": 1, "baseline": {"algo": "lock", "stepsize": "constant"}},
    }
    text = experiment_toml(data)
    assert tomllib.loads(text) == data
    (tmp_path / "e.toml").write_text(text)
    assert [r.key for r in load_experiment(tmp_path / "e.toml").runs] == [
        r.key for r in parse_experiment(data).runs
    ]
