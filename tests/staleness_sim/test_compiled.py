"""The compiled event loop (lock-based and Leashed-SGD) against the SimPy engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staleness_sim import SimConfig, durations, simulate
from staleness_sim.compiled.engine import CHUNK
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import EmpiricalTiming, parse_timing

#: Timing models: continuous ones, and discrete ones that make workers' events simultaneous,
#: where only SimPy's scheduling order decides who goes first.
TIMINGS = {
    "expon": "expon:scale=1",
    "gamma": "gamma:a=2,scale=0.5",
    "const1": "const:1",
    "const0": "const:0",
    "short": "expon:scale=0.1",
    "const-short": "const:0.1",
}


def _timing(name: str):
    if name == "two-values":
        return EmpiricalTiming(np.array([0.5, 1.0]))
    return parse_timing(TIMINGS[name])


def _assert_same(config: SimConfig) -> None:
    a, b = simulate(config, "simpy"), simulate(config, "fast")
    assert b.engine == "fast"
    assert a.trace.table.equals(b.trace.table)
    assert (a.peak_live_vectors, a.mean_live_vectors) == (b.peak_live_vectors, b.mean_live_vectors)


@settings(max_examples=80, deadline=None)
@given(
    algo=st.sampled_from(["lock", "leashed", "rennala"]),
    workers=st.integers(1, 12),
    gradients=st.integers(1, 2000),
    compute=st.sampled_from(["expon", "gamma", "const1", "two-values"]),
    read=st.sampled_from(["const0", "const-short", "short", "two-values"]),
    publish=st.sampled_from(["const0", "const-short", "short", "two-values"]),
    policy=st.sampled_from(["barging", "fifo"]),
    handoff=st.sampled_from([0.0, 0.01, 0.5]),
    cas=st.sampled_from([0.0, 0.01, 0.5]),
    window=st.sampled_from([1.0, 0.5, 0.1]),
    persistence=st.sampled_from([None, 1, 2, 3]),
    speed=st.sampled_from([(1.0,), (1.0, 1.7), (0.5, 1.0, 3.0)]),
    dim=st.sampled_from([0, 1000]),
    seed=st.integers(0, 2**16),
    batch=st.sampled_from([None, 1, 3]),
    threshold=st.sampled_from([None, 1, 3]),
    abandon=st.booleans(),
)
def test_compiled_loop_reproduces_the_simpy_trace(
    algo,
    workers,
    gradients,
    compute,
    read,
    publish,
    policy,
    handoff,
    cas,
    window,
    persistence,
    speed,
    dim,
    seed,
    batch,
    threshold,
    abandon,
) -> None:
    # Mutex policies and wake-up latencies, CAS latency and window, persistence (drops),
    # unequal speeds, copy times, simultaneous events, Rennala's step batch and Ringmaster's
    # threshold (lock-based), with and without its stopping variant: same Trace, same live
    # vectors.
    p = HardwareProfile(
        compute=_timing(compute),
        read=_timing(read),
        publish=_timing(publish),
        lock_policy=policy,
        lock_handoff=handoff,
        cas_latency=cas,
        cas_window=window,
        speed=speed,
        dim=dim,
        bandwidth_gbs=1.0,
        sockets=2,
        numa_penalty=1.5,
    )
    _assert_same(
        SimConfig(
            algo,
            workers,
            p,
            gradients,
            seed,
            persistence if algo == "leashed" else None,
            step_batch=batch if algo == "rennala" else None,
            threshold=threshold if algo == "lock" else None,
            abandon=abandon and algo == "lock" and threshold is not None,
        )
    )


@pytest.mark.parametrize("algo", ["lock", "leashed"])
def test_compiled_loop_draws_more_when_a_worker_runs_ahead(algo, monkeypatch) -> None:
    # One worker 50x faster than the others does nearly all the work, with blocks of 64
    # durations per worker: its durations run out again and again, and the loop resumes
    # with more of the same streams; the Trace stays SimPy's.
    monkeypatch.setattr(durations, "MAX_BLOCK", 3 * 64)
    p = HardwareProfile(
        compute=parse_timing("expon:scale=1"),
        publish=parse_timing("expon:scale=0.05"),
        speed=(0.02, 1.0, 1.0),
    )
    config = SimConfig(algo, 3, p, 3000, seed=2)
    _assert_same(config)
    trace = simulate(config, "fast").trace
    # speed scales the gradient only: the fast worker's cycle is 0.02 + 0.05 (its publish),
    # the others' 1 + 0.05, so it computes (1/0.07) / (1/0.07 + 2/1.05) = 0.882 of the
    # gradients. Of 3000, the binomial sd is 0.006; 0.03 leaves room for the lock's waits and
    # the CAS's retries, which the cycle above leaves out.
    assert np.mean(trace.table["worker"] == 0) == pytest.approx(0.882, abs=0.03)


def test_the_convoy_and_the_barging_mutex_in_the_compiled_loop() -> None:
    # The exact cases of the mutex model (tests/staleness_sim/test_engine.py) hold here too.
    for policy, expected in (("barging", 10.0), ("fifo", 16 / 2.6)):
        p = HardwareProfile(
            compute=parse_timing("const:1"), publish=parse_timing("const:0.1"), lock_policy=policy
        )
        s = simulate(SimConfig("lock", 16, p, 20_000), "fast").summary()
        assert s["throughput"] == pytest.approx(expected, rel=0.03 if policy == "barging" else 1e-6)


@pytest.mark.parametrize("algo", ["lock", "leashed", "hogwild", "sync", "rennala"])
def test_a_run_without_trace_has_the_same_summary(algo) -> None:
    # Longer than one output chunk, so the tally is summed over chunks.
    p = HardwareProfile(compute=parse_timing("expon:scale=1"), publish=parse_timing("expon:scale=0.05"))
    # Rennala: seed 6 stops in a step that never completes, whose gradients the Trace drops;
    # the chunked tally holds that step's rows back and drops them too
    seed = 6 if algo == "rennala" else 4
    config = SimConfig(algo, 8, p, CHUNK * 2 + 123, seed=seed, persistence=2 if algo == "leashed" else None)
    full, light = simulate(config, "fast"), simulate(config, "fast", keep_trace=False)
    assert light.kept_trace is None
    assert light.summary() == full.summary()
    assert full.summary()["gradients"] == config.gradients
    with pytest.raises(ValueError, match="no Trace"):
        light.save("unused")


def test_the_compiled_loop_reports_progress() -> None:
    p = HardwareProfile(publish=parse_timing("const:0.01"))
    seen: list[int] = []
    simulate(SimConfig("leashed", 4, p, 10_000), "fast", progress=seen.append)
    assert 50 <= len(seen) <= 101
    assert seen == sorted(seen) and seen[-1] <= 10_000
