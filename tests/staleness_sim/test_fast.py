"""The vectorized engine against the SimPy engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staleness_sim import SimConfig, fast_supported, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import EmpiricalTiming, parse_timing


def _assert_same_traces(profile: HardwareProfile, workers: int, gradients: int, seed: int) -> None:
    for algo in ("hogwild", "sync"):
        config = SimConfig(algo, workers, profile, gradients, seed=seed)
        a, b = simulate(config, "simpy").trace.table, simulate(config, "fast").trace.table
        assert a.equals(b), algo


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
    _assert_same_traces(p, 7, 20_000, seed=5)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 40),  # the merge's groups of 8 workers: one, several, the last one short
    st.integers(1, 3000),
    st.sampled_from([(1.0,), (1.0, 1.7), (0.5, 1.0, 3.0)]),
    st.sampled_from(["const:0", "const:0.25", "expon:scale=0.1"]),
    st.integers(0, 2**16),
)
def test_fast_engine_equals_simpy_on_random_setups(workers, gradients, speed, publish, seed) -> None:
    # Continuous compute times: no two workers publish at the same instant, and the traces
    # are identical. Short runs put the merge's segment pivots on the first few publishes;
    # unequal speeds make the segments unbalanced.
    compute = parse_timing("gamma:a=2,scale=0.5")
    p = HardwareProfile(compute=compute, publish=parse_timing(publish), speed=speed)
    _assert_same_traces(p, workers, gradients, seed)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 12),
    st.integers(1, 3000),
    st.sampled_from(["const", "two-values"]),
    st.sampled_from([(1.0,), (1.0, 2.0), (0.5, 1.0, 3.0)]),
    st.sampled_from(["const:0", "const:0.5", "two-values"]),
    st.sampled_from(["const:0", "const:0.25"]),
    st.integers(0, 2**16),
)
def test_simultaneous_events_are_ordered_as_in_simpy(
    workers, gradients, compute, speed, publish, read, seed
) -> None:
    # With discrete durations workers publish (HOGWILD!) or reach the barrier (sync) at the
    # same instant. SimPy processes simultaneous events in the order they were scheduled;
    # the fast engine orders them the same way, so the traces are still identical.
    two = EmpiricalTiming(np.array([0.5, 1.0]))
    model = {"const": parse_timing("const:1"), "two-values": two}[compute]
    pub = two if publish == "two-values" else parse_timing(publish)
    p = HardwareProfile(compute=model, publish=pub, read=parse_timing(read), speed=speed)
    _assert_same_traces(p, workers, gradients, seed)


@pytest.mark.parametrize("workers", [16, 64])
def test_fast_engine_gives_simpys_trace_at_scale(workers: int) -> None:
    # 100,000 publishes of 16 and 64 workers: the merge runs in all of its CHAINS segments
    # and through its groups of workers, and the Trace is still SimPy's, row for row (a
    # distributional check would hide a misordered segment boundary).
    profile = HardwareProfile(compute=parse_timing("expon:scale=1"))
    config = SimConfig("hogwild", workers, profile, 100_000, seed=1)
    a, b = simulate(config, "simpy").trace.table, simulate(config, "fast").trace.table
    assert a.equals(b)


def test_fast_engine_refuses_what_it_cannot_model() -> None:
    p = HardwareProfile(cores=2)
    for algo in ("hogwild", "lock", "leashed", "sync"):
        assert "time-shared" in str(fast_supported(SimConfig(algo, 4, p)))
        assert fast_supported(SimConfig(algo, 2, p)) is None
        assert "interpreter lock" in str(fast_supported(SimConfig(algo, 2, HardwareProfile(gil=True))))
    assert "interpreted code" in str(fast_supported(SimConfig("lock", 2, HardwareProfile(interpreted=1e-5))))
    assert fast_supported(SimConfig("hogwild", 2, HardwareProfile(interpreted=1e-5))) is None  # lock only
    with pytest.raises(ValueError, match="fast engine"):
        simulate(SimConfig("lock", 4, p), "fast")
    # auto falls back to SimPy where the fast engine does not apply
    assert simulate(SimConfig("lock", 4, p, 100), "auto").engine == "simpy"
    assert simulate(SimConfig("lock", 2, p, 100), "auto").engine == "fast"


def test_fast_engine_extends_its_draws_when_a_worker_runs_ahead() -> None:
    # One worker 50x faster than the rest does nearly all the work: the first guess of
    # draws per worker is too small and must grow; the result still matches SimPy.
    p = HardwareProfile(compute=parse_timing("expon:scale=1"), speed=(0.02, 1.0, 1.0))
    config = SimConfig("hogwild", 3, p, 3000, seed=2)
    a, b = simulate(config, "simpy").trace.table, simulate(config, "fast").trace.table
    assert a.equals(b)
    assert np.mean(b["worker"] == 0) > 0.9


@pytest.mark.parametrize("algo", ["hogwild", "sync", "lock", "leashed", "rennala"])
def test_fast_traces_keep_their_constant_columns_in_no_memory(algo: str) -> None:
    # A simulated run has no step sizes (all NaN), and HOGWILD! and synchronous SGD attempt
    # every publish once and drop nothing: those columns are views of one value, read-only,
    # and still read as full columns.
    timing = {"compute": "gamma:a=4,scale=0.25", "publish": "expon:scale=0.01"}
    p = HardwareProfile(**{phase: parse_timing(text) for phase, text in timing.items()})
    config = SimConfig(algo, 4, p, 2_000, seed=1)
    table = simulate(config, "fast").trace.table
    constant = ["step_size"] + (["attempts", "dropped"] if algo in ("hogwild", "sync") else [])
    for name in constant:
        column = table[name].to_numpy()
        assert column.strides == (0,) and not column.flags.writeable, name
    assert table["step_size"].isna().all()
    if algo in ("hogwild", "sync"):
        assert (table["attempts"] == 1).all() and not table["dropped"].any()
    assert table.equals(simulate(config, "simpy").trace.table)
