"""The vectorized engine against the SimPy engine."""

from __future__ import annotations

import numpy as np
import pytest

from staleness_sim.engine import SimConfig, simulate
from staleness_sim.fast import fast_supported
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import parse_timing
from theory.fitting import total_variation
from theory.staleness import Empirical


@pytest.mark.parametrize(
    ("compute", "read", "publish", "speed"),
    [
        ("expon:scale=1", "const:0", "const:0", (1.0,)),
        ("gamma:a=4,scale=0.25", "const:0.01", "expon:scale=0.1", (1.0, 1.7)),
        ("const:1", "const:0", "const:0", (1.0,)),
        ("lognorm:s=0.5,scale=1", "expon:scale=0.02", "const:0.05", (1.0, 1.0, 2.5)),
    ],
)
def test_fast_engine_reproduces_the_simpy_trace(compute, read, publish, speed) -> None:
    p = HardwareProfile(
        compute=parse_timing(compute),
        read=parse_timing(read),
        publish=parse_timing(publish),
        speed=speed,
        dim=1000,
        bandwidth_gbs=1.0,
    )
    for algo in ("hogwild", "sync"):
        config = SimConfig(algo, 7, p, 20_000, seed=5)
        a, b = simulate(config, "simpy").trace.table, simulate(config, "fast").trace.table
        assert a.equals(b), algo


def test_fast_engine_matches_in_distribution_at_scale() -> None:
    # The criterion (TV < 0.01 on 1e5 updates); the traces are in fact identical.
    config = SimConfig("hogwild", 16, HardwareProfile(compute=parse_timing("expon:scale=1")), 100_000, seed=1)
    a = simulate(config, "simpy").trace.staleness()
    b = simulate(config, "fast").trace.staleness()
    assert total_variation(Empirical.from_samples(a), Empirical.from_samples(b)) < 0.01


def test_fast_engine_refuses_what_it_cannot_model() -> None:
    p = HardwareProfile(cores=2)
    assert fast_supported(SimConfig("hogwild", 4, p)) is not None
    assert fast_supported(SimConfig("leashed", 2, HardwareProfile())) is not None
    with pytest.raises(ValueError, match="fast engine"):
        simulate(SimConfig("lock", 2, HardwareProfile()), "fast")
    assert fast_supported(SimConfig("hogwild", 2, p)) is None


def test_fast_engine_extends_its_draws_when_a_worker_runs_ahead() -> None:
    # One worker 50x faster than the rest does nearly all the work: the first guess of
    # draws per worker is too small and must grow; the result still matches SimPy.
    p = HardwareProfile(compute=parse_timing("expon:scale=1"), speed=(0.02, 1.0, 1.0))
    config = SimConfig("hogwild", 3, p, 3000, seed=2)
    a, b = simulate(config, "simpy").trace.table, simulate(config, "fast").trace.table
    assert a.equals(b)
    assert np.mean(b["worker"] == 0) > 0.9
