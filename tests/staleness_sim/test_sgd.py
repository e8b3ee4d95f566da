from __future__ import annotations

import numpy as np
import pytest

from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.sgd import sgd_under_trace
from staleness_sim.timing import parse_timing
from theory.problems import known_problem
from theory.spec import make_rule
from theory.staleness import Empirical


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
    # Row by row, the step taken is eta0 * s(tau) of the rule built from the first 10% of the
    # applied updates (the warm-up): code that ignored the rule would take eta0 everywhere.
    in_order = curve.trace.applied()
    tau = in_order["tau"].to_numpy()
    s = make_rule(rule, Empirical.from_samples(tau[: max(1, int(0.1 * tau.size))]))
    eta0 = curve.trace.meta["eta0"]
    np.testing.assert_allclose(in_order["step_size"].to_numpy(), eta0 * s(tau), rtol=1e-12)
    if rule != "constant":
        assert in_order["step_size"].nunique() > 1
