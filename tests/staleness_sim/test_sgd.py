from __future__ import annotations

import numpy as np
import pytest

from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.sgd import sgd_under_trace
from staleness_sim.timing import parse_timing
from theory.problems import known_problem


@pytest.mark.parametrize("rule", ["constant", "inverse", "tail", "mindthestep"])
def test_sgd_under_simulated_delays_converges_and_records_steps(rule: str) -> None:
    result = simulate(
        SimConfig(
            "leashed",
            8,
            HardwareProfile(compute=parse_timing("expon:scale=1"), publish=parse_timing("const:0.05")),
            4000,
            seed=1,
            persistence=2,
        )
    )
    rng = np.random.default_rng(0)
    problem = known_problem("quadratic", rng, dim=10)
    curve = sgd_under_trace(result.trace, problem, rng, rule=rule)
    assert np.all(np.diff(curve.time) >= 0)
    assert curve.loss[-100:].mean() < 0.1 * curve.loss[:10].mean()
    table = curve.trace.table
    applied = ~table["dropped"]
    assert np.all(table.loc[applied, "step_size"] > 0) and np.all(table.loc[~applied, "step_size"] == 0)
    if rule == "constant":
        assert table.loc[applied, "step_size"].nunique() == 1
