"""The summary of a Trace, and its tally accumulated over chunks."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.analysis import Tally, summarize
from theory.trace import Trace


def _trace(rows: list[tuple[int, int, float]]) -> Trace:
    # (tau or -1 for dropped, attempts, t_apply); versions consistent with tau
    n = len(rows)
    tau = np.array([r[0] for r in rows])
    rv = np.arange(n)
    av = np.where(tau >= 0, rv + tau + 1, -1)
    return Trace.from_columns(
        worker=np.zeros(n, dtype=int),
        read_version=rv,
        apply_version=av,
        t_read=np.zeros(n),
        t_grad_done=np.zeros(n),
        t_apply=np.array([r[2] for r in rows]),
        attempts=np.array([r[1] for r in rows]),
        step_size=np.full(n, np.nan),
    )


ROWS = st.lists(
    st.tuples(st.integers(-1, 20), st.integers(1, 5), st.floats(0.0, 1e3, allow_nan=False)),
    min_size=1,
    max_size=200,
)


@settings(max_examples=100, deadline=None)
@given(ROWS, st.lists(st.integers(0, 200), max_size=5))
def test_a_tally_over_chunks_is_the_tally_of_the_whole(rows, cuts) -> None:
    trace = _trace(rows)
    t = trace.table
    tau, attempts, t_apply = (t[c].to_numpy() for c in ("tau", "attempts", "t_apply"))
    tally = Tally()
    edges = sorted({0, len(rows), *(min(c, len(rows)) for c in cuts)})
    for a, b in itertools.pairwise(edges):
        tally.add(tau[a:b], attempts[a:b], t_apply[a:b])
    # (through JSON: NaN, as without applied updates, equals itself there)
    assert json.dumps(tally.summary(), sort_keys=True) == json.dumps(summarize(trace), sort_keys=True)


@settings(max_examples=100, deadline=None)
@given(ROWS)
def test_the_summary_counts_what_the_rows_say(rows) -> None:
    s = summarize(_trace(rows))
    applied = [r for r in rows if r[0] >= 0]
    assert s["gradients"] == len(rows)
    assert s["updates"] == len(applied) and s["dropped"] == len(rows) - len(applied)
    assert s["cas_failures"] == sum(r[1] for r in rows) - len(applied)
    if applied:
        assert s["tau_mean"] == np.mean([r[0] for r in applied])
        assert s["duration"] == max(r[2] for r in applied)
        assert abs(sum(s["tau_pmf"].values()) - 1) < 1e-12
    else:
        assert np.isnan(s["tau_mean"]) and np.isnan(s["throughput"]) and s["duration"] == 0.0


def test_coupling_is_below_one_when_one_worker_publishes_right_after_the_other() -> None:
    # tests/paired_trace.py: mean tau 0.5, where independent workers with these rates and
    # 0.9-long windows would see 0.9 n / T.
    from tests.paired_trace import paired_publishes
    from theory.analysis import coupling

    n = 50
    t = paired_publishes(n)
    assert t.staleness().mean() == pytest.approx(0.5)
    span = (n - 1 + 1.02) - 0.1
    assert coupling(t) == pytest.approx(0.5 / (0.9 * n / span))
    one = Trace.from_columns(
        worker=np.zeros(3, dtype=int), read_version=[0, 1, 2], apply_version=[1, 2, 3],
        t_read=[0.0, 1.0, 2.0], t_grad_done=[0.5, 1.5, 2.5], t_apply=[1.0, 2.0, 3.0],
        attempts=[1, 1, 1], step_size=[0.1] * 3,
    )  # fmt: skip
    assert coupling(one) is None  # nobody else to be coupled with


def test_rate_swings_counts_the_windows_in_which_a_thread_had_a_core_to_itself() -> None:
    from tests.moved_trace import moved_threads
    from theory.analysis import rate_swings

    # 19 whole windows from the first read (the last gradient ends before the 20th is over);
    # worker 0's mean rises to (4 * 60 + 15 * 30) / 19 = 36.3 per window, 60 is 1.65 times that
    assert rate_swings(moved_threads(alone=4), window=1.0) == pytest.approx(4 / 19)
    assert rate_swings(moved_threads(alone=0), window=1.0) == 0.0
    # 0.1-s windows: 199 whole ones, worker 0 with 6 gradients in each of the first 40
    assert rate_swings(moved_threads(alone=4), window=0.1, per_window=1) == pytest.approx(40 / 199)
    # 3 gradients per second: in 0.1-s windows a worker has 0 or 1, and 1 passes for a swing;
    # by default the windows widen until the slowest worker has 20 in one (6.7 s)
    assert rate_swings(moved_threads(windows=60, rate=3), window=0.1, per_window=0.3) > 0.25
    assert rate_swings(moved_threads(windows=60, rate=3), window=0.1) == 0.0
    assert rate_swings(moved_threads(windows=3, alone=1), window=1.0) is None  # too few windows


def test_rate_swings_of_simulated_workers_sharing_cores_is_zero() -> None:
    # The simulator keeps worker i on core i mod cores: four workers on two cores share them
    # evenly throughout, whatever the run's length.
    from staleness_sim import SimConfig, simulate
    from staleness_sim.profile import HardwareProfile
    from staleness_sim.timing import parse_timing
    from theory.analysis import rate_swings

    profile = HardwareProfile(
        compute=parse_timing("gamma:a=16,scale=6.25e-5"), publish=parse_timing("const:1e-5"), cores=2
    )
    for algo in ("hogwild", "lock"):
        trace = simulate(SimConfig(algo, 4, profile, 20_000, seed=3)).trace
        assert rate_swings(trace) == 0.0, algo
