"""Exact cases and invariants of the simulator, on both engines.

The exact cases run on the SimPy engine and on the fast engine (the ``engine`` fixture);
the cases the fast engine does not cover (time-shared cores, the interpreter lock, the
mutex's own errors) run where ``auto`` sends them, on SimPy.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staleness_sim import ALGORITHMS, SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.result import SimResult
from staleness_sim.timing import parse_timing
from theory.fitting import total_variation
from theory.staleness import Empirical, Geometric


@pytest.fixture(params=["simpy", "fast"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each exact case on each engine."""
    return str(request.param)


def simulate_on(engine: str, config: SimConfig) -> SimResult:
    return simulate(config, engine)


def profile(**kw: object) -> HardwareProfile:
    timing = {k: parse_timing(v) for k, v in kw.items() if k in ("compute", "read", "publish")}
    rest = {k: v for k, v in kw.items() if k not in timing}
    return HardwareProfile(**timing, **rest)  # type: ignore[arg-type]


@pytest.mark.parametrize("workers", [2, 4, 8])
def test_hogwild_with_exponential_compute_has_geometric_staleness(workers: int, engine: str) -> None:
    # Exact result: during one exp(1) gradient the other m - 1 workers finish at rate m - 1,
    # so tau ~ Geometric(q = 1 - 1/m). With 100k gradients the sampling error of the pmf
    # has TV of order sqrt(support / n) / 2 ~ 0.01 (autocorrelated samples: allow 0.02).
    result = simulate_on(
        engine, SimConfig("hogwild", workers, profile(compute="expon:scale=1"), 100_000, seed=1)
    )
    tau = result.trace.staleness()
    assert total_variation(Empirical.from_samples(tau), Geometric(1 - 1 / workers)) < 0.02
    assert tau.mean() == pytest.approx(workers - 1, rel=0.03)


@pytest.mark.parametrize("algo", ["hogwild", "leashed"])
def test_constant_compute_gives_tau_m_minus_1_after_warm_up(algo: str, engine: str) -> None:
    m = 6
    tau = simulate_on(engine, SimConfig(algo, m, profile(compute="const:1"), 600, seed=0)).trace.staleness()
    assert tau[:m].tolist() == list(range(m))
    assert np.all(tau[m:] == m - 1)


def test_constant_compute_under_a_fifo_lock_cycles_through_0_to_m_minus_1(engine: str) -> None:
    # A FIFO lock: the m publishes of a round queue ahead of the next round's reads, so
    # every round reads the same version and the staleness cycles 0, 1, ..., m - 1.
    m = 6
    fifo = profile(compute="const:1", lock_policy="fifo")
    tau = simulate_on(engine, SimConfig("lock", m, fifo, 600, seed=0)).trace.staleness()
    assert np.array_equal(tau, np.tile(np.arange(m), 100))


def test_constant_compute_under_a_barging_lock_settles_out_of_step(engine: str) -> None:
    # A barging lock (the default): a worker that has just published reads at once, so the
    # workers stay out of step as HOGWILD!'s do: tau = m - 1 after the first round.
    m = 6
    tau = simulate_on(engine, SimConfig("lock", m, profile(compute="const:1"), 600, seed=0)).trace.staleness()
    assert tau[:m].tolist() == list(range(m)) and np.all(tau[m:] == m - 1)


@pytest.mark.parametrize(("policy", "expected"), [("barging", 10.0), ("fifo", 16 / 2.6)])
def test_sixteen_workers_saturate_a_barging_lock_but_convoy_behind_a_fifo_one(
    policy: str, expected: float, engine: str
) -> None:
    # Compute 1, publish 0.1, read 0: the lock's capacity is 1 / 0.1 = 10 updates per unit
    # time and 16 workers ask for 1.6 units of it per 1.1. Barging keeps it busy (10); FIFO
    # makes a convoy whose rounds are 16 publishes plus one idle compute time: 16 / 2.6.
    lock = profile(compute="const:1", publish="const:0.1", lock_policy=policy)
    rate = simulate_on(engine, SimConfig("lock", 16, lock, 20_000, seed=0)).summary()["throughput"]
    assert rate == pytest.approx(expected, rel=0.03 if policy == "barging" else 1e-6)


def test_waking_a_sleeper_costs_the_hand_off_on_a_saturated_barging_lock(engine: str) -> None:
    # Every publish is followed by the publisher's own barging read (zero length) and then by
    # a sleeper that takes lock_handoff to wake: the lock idles h per update, 1 / (0.1 + h).
    lock = profile(compute="const:1", publish="const:0.1", lock_handoff=0.01)
    rate = simulate_on(engine, SimConfig("lock", 16, lock, 20_000, seed=0)).summary()["throughput"]
    assert rate == pytest.approx(1 / 0.11, rel=0.01)


def test_fifo_lock_saturates_at_one_over_the_apply_cost(engine: str) -> None:
    # Apply cost c = 1 under the lock, gradients 0.1 off it. With a FIFO lock a round is
    # m applies plus one gradient time in which the lock idles: m / (m c + 0.1) -> 1/c.
    rates = {}
    for m in (8, 64):
        fifo = profile(compute="const:0.1", publish="const:1", lock_policy="fifo")
        rates[m] = simulate_on(engine, SimConfig("lock", m, fifo, 50 * m)).summary()["throughput"]
        assert rates[m] == pytest.approx(m / (m * 1.0 + 0.1), rel=1e-9)
    # ... which approaches the lock's capacity 1/c = 1 from below as workers are added.
    assert rates[8] < rates[64] < 1.0 and rates[64] == pytest.approx(1.0, rel=0.002)
    # One worker never waits: 1 / (compute + apply), under either policy.
    for policy in ("barging", "fifo"):
        alone = profile(compute="const:1", publish="const:0.1", lock_policy=policy)
        assert simulate_on(engine, SimConfig("lock", 1, alone, 2000)).summary()[
            "throughput"
        ] == pytest.approx(1 / 1.1, rel=1e-9)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_lock_based_read_copies_only_a_version_its_copy_does_not_hold(engine: str, workers: int) -> None:
    # A copy or an apply of the vector costs 0.5 (8,000 bytes at 16 kB/s), a gradient 1 at
    # speed 1 (speeds differ, so that the version often moves between a worker's reads and
    # sometimes does not). A worker's copy equals the version it read; an apply that follows
    # its own read directly (tau = 0) also refreshes the copy to the new version. So a row's
    # t_grad_done - t_read is the worker's gradient, plus 0.5 exactly when the read version
    # differs from what its copy held.
    slow = profile(compute="const:1", dim=1000, bandwidth_gbs=1.6e-5, speed=(1.0, 1.7, 2.3))
    table = simulate_on(engine, SimConfig("lock", workers, slow, 300)).trace.table
    copies = 0
    for w, own in table.sort_values("t_read").groupby("worker"):
        held, extra = -1, []
        for rv, av, read, done in own[["read_version", "apply_version", "t_read", "t_grad_done"]].itertuples(
            index=False
        ):
            copied = rv != held
            copies += copied
            extra.append(done - read - 0.5 * copied)
            held = av if av == rv + 1 else rv
        assert np.allclose(extra, slow.speed[w]), w
    if workers == 1:  # one copy, at the first read
        assert copies == 1
    else:  # the others' updates come between most reads
        assert len(table) / 2 < copies < len(table)


def test_a_mutex_released_by_a_worker_that_does_not_hold_it_is_an_error() -> None:
    import simpy

    from staleness_sim.mechanisms import Mutex
    from staleness_sim.sim_context import SimContext

    ctx = SimContext(simpy.Environment(), profile(compute="const:1"), 2, 10, 0)
    mutex = Mutex(ctx)
    assert list(mutex.acquire(0)) == [] and mutex.owner == 0  # uncontended: no waiting
    with pytest.raises(RuntimeError, match="worker 1 releases a mutex held by 0"):
        mutex.release(1)


@pytest.mark.parametrize(
    ("algo", "compute"),
    [("hogwild", "const:1"), ("hogwild", "expon:scale=1"), ("leashed", "gamma:a=4,scale=0.25")],
)
def test_fewer_cores_than_workers_gives_cores_over_compute_throughput(algo: str, compute: str) -> None:
    # 8 workers on 2 cores: the cores are always busy, 2 gradients per mean compute time.
    # 20k gradients of mean 1: relative SE of the rate ~ 1/sqrt(20k) = 0.7%; allow 3%.
    result = simulate(SimConfig(algo, 8, profile(compute=compute, cores=2), 20_000, seed=2))
    assert result.summary()["throughput"] == pytest.approx(2.0, rel=0.03)


def _cas_failure_rate(workers: int, publish: str) -> float:
    s = simulate(
        SimConfig("leashed", workers, profile(compute="expon:scale=1", publish=publish), 20_000, seed=3)
    ).summary()
    return s["cas_failures"] / s["gradients"]


def test_leashed_cas_failures_grow_with_workers_and_publish_cost(engine: str) -> None:
    by_workers = [_cas_failure_rate(m, "const:0.05") for m in (2, 4, 8, 16)]
    assert by_workers == sorted(by_workers) and by_workers[0] < by_workers[-1] / 4
    by_cost = [_cas_failure_rate(8, f"const:{c}") for c in (0.01, 0.05, 0.2)]
    assert by_cost == sorted(by_cost) and by_cost[0] < by_cost[-1] / 4


def test_persistence_bounds_attempts_and_drops_are_counted(engine: str) -> None:
    config = SimConfig(
        "leashed", 8, profile(compute="expon:scale=1", publish="const:0.2"), 5000, seed=4, persistence=2
    )
    result = simulate_on(engine, config)
    table = result.trace.table
    assert table["attempts"].max() == 2
    assert result.summary()["dropped"] == int(table["dropped"].sum()) > 0
    assert np.all(table.loc[table["dropped"], "attempts"] == 2)
    assert np.all(table.loc[table["dropped"], "apply_version"] == -1)


@settings(max_examples=25)
@given(
    st.sampled_from(ALGORITHMS),
    st.integers(1, 12),
    st.sampled_from([None, 1, 2]),
    st.sampled_from(["const:0", "const:0.05", "expon:scale=0.2"]),
    st.sampled_from([None, 1, 3]),
    st.integers(0, 2**16),
)
def test_trace_invariants_and_memory_bound(algo, workers, cores, publish, persistence, seed) -> None:
    config = SimConfig(
        algo,
        workers,
        profile(compute="expon:scale=1", publish=publish, cores=cores),
        400,
        seed=seed,
        persistence=persistence if algo == "leashed" else None,
    )
    result = simulate(config)
    t = result.trace.table
    applied = t[~t["dropped"]]
    assert len(t) == 400
    assert np.all(t["t_read"] <= t["t_grad_done"]) and np.all(t["t_grad_done"] <= t["t_apply"])
    assert np.all(applied["tau"] >= 0)
    versions = np.sort(applied["apply_version"].unique())
    assert np.array_equal(versions, np.arange(1, versions.size + 1))  # no gaps
    if algo == "rennala":  # S gradients of the version they read per step, none unfinished
        assert np.all(applied["tau"] == 0)
        assert np.all(applied["apply_version"].value_counts() == config.batch)
        thrown = t[t["dropped"]]
        assert np.all(thrown["attempts"] == 0)
    elif algo != "sync":  # one gradient per version, except sync's averaged rounds
        assert applied["apply_version"].is_unique
    else:
        assert np.all(applied["tau"] == 0)
    assert 1 <= result.peak_live_vectors <= 2 * workers + 1
    assert 1 <= result.mean_live_vectors <= result.peak_live_vectors


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_same_seed_same_trace_bit_for_bit(algo: str, engine: str) -> None:
    cores = 3 if engine == "simpy" else 5  # the fast engine has no time-shared cores
    p = profile(compute="gamma:a=2,scale=0.5", publish="expon:scale=0.05", cores=cores)
    a = simulate_on(engine, SimConfig(algo, 5, p, 2000, seed=9)).trace.table
    b = simulate_on(engine, SimConfig(algo, 5, p, 2000, seed=9)).trace.table
    c = simulate_on(engine, SimConfig(algo, 5, p, 2000, seed=10)).trace.table
    assert a.equals(b) and not a.equals(c)


def test_stragglers_publish_less_and_numa_slows_remote_workers(engine: str) -> None:
    # Worker 1 is 3x slower: it computes a quarter of the gradients of 2 workers.
    result = simulate_on(
        engine, SimConfig("hogwild", 2, profile(compute="expon:scale=1", speed=(1.0, 3.0)), 8000)
    )
    share = (result.trace.table["worker"] == 1).mean()
    assert share == pytest.approx(0.25, abs=0.02)
    numa = profile(compute="const:1", publish="const:1", sockets=2, cores=2, numa_penalty=2.0)
    t = simulate_on(engine, SimConfig("hogwild", 2, numa, 400)).trace.table
    assert (t["worker"] == 0).sum() == pytest.approx(1.5 * (t["worker"] == 1).sum(), rel=0.02)


def test_bad_configurations_name_the_field() -> None:
    with pytest.raises(ValueError, match="algo"):
        SimConfig("magic", 2, HardwareProfile())
    with pytest.raises(ValueError, match="workers"):
        SimConfig("lock", 0, HardwareProfile())
    with pytest.raises(ValueError, match="persistence"):
        SimConfig("leashed", 2, HardwareProfile(), persistence=0)


def test_a_worker_woken_from_a_lock_wait_preempts_a_running_one() -> None:
    # 3 workers on 2 cores with long time slices (30 gradient times). A worker that blocks on
    # the lock gives its core to the third; when it wakes it takes a core back at once (Linux's
    # wake-up preemption), so, as with HOGWILD! (which never blocks), mostly two workers run
    # at a time and the staleness is 1 for about 70% of the updates. Were the woken worker to
    # wait for a core in round-robin order, all three would interleave: tau = 2 for 73%,
    # tau = 1 for 13.5% (measured with the preemption switched off).
    timing = dict(compute="gamma:a=16,scale=0.0625", publish="const:0.05", read="const:0.01")
    shared = profile(**timing, cores=2, quantum=30.0, lock_handoff=0.05)
    share = {}
    for algo in ("lock", "hogwild"):
        tau = simulate(SimConfig(algo, 3, shared, 20_000, seed=1)).trace.staleness()
        share[algo] = float(np.mean(tau == 1))
    assert share["lock"] > 0.6 and abs(share["lock"] - share["hogwild"]) < 0.1


def test_threads_outnumbering_cores_share_a_core_and_one_runs_alone() -> None:
    # 3 HOGWILD! workers (never blocking) on 2 cores with a run queue each: workers 0 and 2
    # take turns on core 0, a slice each, and worker 1 has core 1 to itself, as Linux runs
    # three busy threads until its load balancer moves one. With constant gradients the
    # counts are exactly 1:2:1 (a global round robin of the three gives 1:1:1), and a
    # gradient that loses its core waits for its partner's slice: 2.5 time units, in which
    # four or more updates are published (tau >= 5), where the lone worker's never wait.
    shared = profile(compute="const:1", publish="const:0", cores=2, quantum=2.5)
    t = simulate(SimConfig("hogwild", 3, shared, 3000, seed=0)).trace.table
    assert t["worker"].value_counts().sort_index().tolist() == [750, 1500, 750]
    assert t.loc[t["worker"] == 1, "tau"].max() <= 1
    assert (t.loc[t["worker"] != 1, "tau"] >= 5).mean() > 0.3


def test_waiters_at_the_barrier_spin_and_keep_their_cores() -> None:
    # Synchronous SGD, 3 workers on 2 cores, gradients of 1 (worker 2: 3), publishes of 0.1,
    # slices longer than the run. The real waiters spin on sched_yield: runnable, they keep
    # their cores, so no idle core pulls the worker queued behind the slow one; each round
    # the slow worker and one fast worker share core 0 (1 + 3) while the other fast worker
    # waits on core 1: rounds of 4.1. Waiters that gave their cores up would let core 1
    # take that queued worker: rounds of 3.1 after the first.
    slow = profile(compute="const:1", publish="const:0.1", cores=2, quantum=1e3, speed=(1.0, 1.0, 3.0))
    t = simulate(SimConfig("sync", 3, slow, 30, seed=0)).trace.table
    rounds = np.diff(np.unique(t["t_apply"].to_numpy()))
    np.testing.assert_allclose(rounds, 4.1, rtol=1e-9)
    # Equal speeds: a waiter yields its core to the worker queued for it, so the three
    # gradients of a round take two cores 2 time units, as when waiters gave their cores up.
    equal = replace(slow, speed=(1.0,))
    t = simulate(SimConfig("sync", 3, equal, 30, seed=0)).trace.table
    np.testing.assert_allclose(np.diff(np.unique(t["t_apply"].to_numpy())), 2.1, rtol=1e-9)


def test_a_worker_asks_for_a_mutex_only_on_a_core() -> None:
    # One core shared with time slices: worker 0 holds it for 0.5 s of work, then sleeps.
    # Worker 1, waiting for the core meanwhile, can ask for the free mutex only once it has
    # the core: at 0.5 s, not at 0 (a thread must run to take a lock; a simulated read of the
    # version at 0 would see updates published while it waited for a core as fresh ones).
    import simpy

    from staleness_sim.mechanisms import Mutex
    from staleness_sim.sim_context import SimContext

    env = simpy.Environment()
    ctx = SimContext(env, profile(compute="const:1", cores=1, quantum=10.0), 2, 10, 0)
    mutex, took = Mutex(ctx), {}

    def first():  # type: ignore[no-untyped-def]
        yield from ctx.busy(0, 0.5)
        ctx.block(0)

    def second():  # type: ignore[no-untyped-def]
        yield from mutex.acquire(1)
        took[1] = env.now

    env.process(first())
    env.process(second())
    env.run()
    assert took == {1: 0.5} and mutex.owner == 1


def test_an_interpreter_lock_serializes_the_interpreted_phases() -> None:
    # gil = true: read and publish phases hold one lock, the gradient does not. Two HOGWILD!
    # workers with compute 0.1 and publish 1: the publishes queue on the GIL, 1 per unit time,
    # against 2 / 1.1 without it. The fast engine has no GIL and says so.
    rates = {}
    for gil in (False, True):
        shared = profile(compute="const:0.1", publish="const:1", gil=gil)
        rates[gil] = simulate(SimConfig("hogwild", 2, shared, 2000, seed=0)).summary()["throughput"]
    assert rates[False] == pytest.approx(2 / 1.1, rel=1e-9) and rates[True] == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(ValueError, match="interpreter lock"):
        simulate(SimConfig("hogwild", 2, profile(compute="const:1", gil=True), 10), engine="fast")


@pytest.mark.parametrize(("handoff", "alternate"), [(0.05, True), (0.2, False)])
def test_the_interpreter_lock_hands_over_with_a_wake_up_latency(handoff: float, alternate: bool) -> None:
    # The same two workers with gil_handoff h. A releases the GIL at the end of its publish
    # and wakes B, who runs h later; A asks again 0.1 later (its compute). h < 0.1: B wins,
    # the workers alternate, one publish per 1 + h. h > 0.1: A barges back in before B has
    # woken, every time; B never publishes, A publishes once per 1.1.
    shared = profile(compute="const:0.1", publish="const:1", gil=True, gil_handoff=handoff)
    result = simulate(SimConfig("hogwild", 2, shared, 2000, seed=0))
    period = 1 + handoff if alternate else 1.1
    assert result.summary()["throughput"] == pytest.approx(1 / period, rel=2e-3)
    trace = result.trace
    workers = trace.table.sort_values("t_apply")["worker"].to_numpy()
    if alternate:
        assert np.all(workers[1:] != workers[:-1])
    else:
        assert np.all(workers == workers[0])


@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_contention_slows_every_gradient_by_the_busy_cores_factor(engine: str) -> None:
    # Constant compute 1, nothing else: w workers make w updates per unit time. With
    # contention [1, 1.25, 2] and 4 cores, 2 workers compute each gradient in 1.25 (rate
    # 2 / 1.25 = 1.6) and 3 workers in 2 (rate 1.5); 1 worker keeps rate 1.
    shared = profile(compute="const:1", cores=4, contention=(1.0, 1.25, 2.0))
    for workers, rate in ((1, 1.0), (2, 1.6), (3, 1.5)):
        result = simulate(SimConfig("hogwild", workers, shared, 3000, seed=0), engine)
        assert result.summary()["throughput"] == pytest.approx(rate, rel=2e-3), workers
        table = result.trace.table
        assert np.allclose(table["t_grad_done"] - table["t_read"], shared.contention_factor(workers))


@pytest.mark.parametrize("engine", ["simpy", "fast"])
@pytest.mark.parametrize("algo", ["hogwild", "lock"])
def test_publish_contention_slows_every_publish_by_the_busy_cores_factor(engine: str, algo: str) -> None:
    # Constant compute 1 and publish 0.1: alone a worker cycles in 1.1. With publish
    # contention [1, 2] two workers publish in 0.2 each (cycle 1.2, rate 2 / 1.2: under the
    # lock two publishes of 0.2 in a cycle of 1.2 never meet once the workers are apart),
    # and their gradients keep their time; one worker is unchanged.
    shared = profile(compute="const:1", publish="const:0.1", cores=4, publish_contention=(1.0, 2.0))
    for workers, rate in ((1, 1 / 1.1), (2, 2 / 1.2)):
        result = simulate(SimConfig(algo, workers, shared, 3000, seed=0), engine)
        table = result.trace.table
        assert np.allclose(table["t_grad_done"] - table["t_read"], 1.0)
        publish = table["t_apply"] - table["t_grad_done"]
        assert np.median(publish) == pytest.approx(0.1 * shared.publish_contention_factor(workers))
        assert result.summary()["throughput"] == pytest.approx(rate, rel=5e-3), workers


@pytest.mark.parametrize(("gil", "rate"), [(True, 1.0), (False, 2 / 1.1)])
def test_lock_based_interpreted_code_takes_turns_on_the_gil(gil: bool, rate: float) -> None:
    # Two lock-based workers, gradient 0.1, 1 unit of interpreted code per gradient (0.5
    # before the read, 0.5 after the gradient), copies and updates free. Under the GIL
    # (instant hand-off) one worker always waits for it while the other holds it: the GIL
    # never idles, one gradient per unit time. Without it each worker cycles in 1.1.
    shared = profile(compute="const:0.1", interpreted=1.0, gil=gil)
    result = simulate(SimConfig("lock", 2, shared, 2000, seed=0))
    assert result.summary()["throughput"] == pytest.approx(rate, rel=2e-3)


@pytest.mark.parametrize("threshold", [1, 2, 5])
def test_ringmaster_threshold_throws_away_what_reached_r_in_both_engines(threshold: int) -> None:
    """Lock-based SGD with Ringmaster's R: every applied gradient has delay < R, the
    versions advance only with applied ones (no gaps), and both engines agree."""
    p = profile(compute="gamma:a=2,scale=0.5", publish="expon:scale=0.05", speed=(1.0, 1.0, 6.0))
    config = SimConfig("lock", 3, p, 3000, seed=4, threshold=threshold)
    a, b = simulate_on("simpy", config).trace.table, simulate_on("fast", config).trace.table
    assert a.equals(b)
    kept, thrown = a[~a["dropped"]], a[a["dropped"]]
    assert kept["tau"].max() < threshold and np.array_equal(
        kept["apply_version"], np.arange(1, len(kept) + 1)
    )
    assert (thrown["attempts"] == 0).all() and len(thrown) > 0
    # the 6x slower worker loses the largest share: the others apply ~12 updates per gradient of it
    assert a.groupby("worker")["dropped"].mean().idxmax() == 2


def test_ringmaster_abandon_gives_up_as_soon_as_the_version_moved_r_times() -> None:
    p = profile(compute="gamma:a=2,scale=0.5", speed=(1.0, 1.0, 6.0))
    config = SimConfig("lock", 3, p, 3000, seed=4, threshold=2, abandon=True)
    t = simulate(config).trace.table
    given_up = t[t["dropped"]]
    assert simulate(config).trace.meta["engine"] == "fast"  # the compiled loop's (test_compiled.py)
    assert (t.loc[~t["dropped"], "tau"] < 2).all()
    # a gradient given up ends where the version moved R = 2 times after its read: earlier than
    # its full compute time would (the slow worker's gradients last 6x as long)
    slow = given_up[given_up["worker"] == 2]
    assert len(slow) > 0.5 * (t["worker"] == 2).sum()
    assert (slow["t_apply"] == slow["t_grad_done"]).all()
    for bad in (
        dict(algo="sync", threshold=2),
        dict(algo="lock", threshold=0),
        dict(algo="lock", abandon=True),
    ):
        algo = bad.pop("algo")
        with pytest.raises(ValueError):
            SimConfig(algo, 2, p, 10, **bad)


@pytest.mark.parametrize("engine", ["simpy", "fast"])
@pytest.mark.parametrize("workers", [2, 4, 16])
def test_simulated_hogwild_workers_are_uncoupled(engine: str, workers: int) -> None:
    # The simulator's HOGWILD! workers are independent renewal processes whose windows
    # (read to publish) tile their time, so every other worker's publish falls in exactly
    # one window: the measured staleness is what independent workers give, up to the
    # run's two ends (a few updates in 20,000), whatever the read phase costs.
    from theory.analysis import coupling

    profile = HardwareProfile(
        compute=parse_timing("gamma:a=4,scale=0.25"),
        read=parse_timing("const:0.2"),
        publish=parse_timing("expon:scale=0.3"),
    )
    trace = simulate(SimConfig("hogwild", workers, profile, 20_000, seed=3), engine).trace
    assert coupling(trace) == pytest.approx(1.0, abs=0.005)


def test_a_publish_begun_under_another_ends_with_it_plus_the_convoy_share() -> None:
    from staleness_sim.fast_engine import fast_supported
    from staleness_sim.mechanisms import Writes

    writes = Writes()
    assert writes.begin(0, 10.0, 4.0, convoy=1.0) == 4.0  # nothing under way: its own time
    # worker 1 begins a quarter into worker 0's publish (10 to 14): ends at 14 + 0.25 x 1
    assert writes.begin(1, 11.0, 9.0, convoy=1.0) == pytest.approx(14.25 - 11.0)
    # worker 0 again, under worker 1's (11 to 14.25): 12.0 is 1/3.25 of it
    assert writes.begin(0, 12.0, 0.5, convoy=1.0) == pytest.approx(14.25 + 1.0 / 3.25 - 12.0)
    assert Writes().begin(1, 11.0, 9.0, convoy=0.0) == 9.0
    profile = HardwareProfile(
        compute=parse_timing("expon:scale=1"), publish=parse_timing("const:0.5"), convoy=0.1
    )
    config = SimConfig("hogwild", 4, profile, 2000, seed=0)
    assert "convoy" in (fast_supported(config) or "")
    assert simulate(config).engine == "simpy"  # auto takes the engine that models it
    with pytest.raises(ValueError, match="convoy"):
        simulate(config, "fast")


def test_time_slices_drawn_from_the_profiles_slices() -> None:
    # Two HOGWILD! workers on one core, gradients of 1 s: with a 0.3-s quantum worker 0's first
    # gradient gets slices 0.3, 0.3, 0.3, 0.1 between worker 1's and ends at 1.9; with every
    # slice drawn as 0.5, it gets 0.5, 0.5 and ends at 1.5
    base = HardwareProfile(compute=parse_timing("const:1"), cores=1, quantum=0.3)

    def first_end(profile: HardwareProfile, seed: int = 0) -> float:
        table = simulate(SimConfig("hogwild", 2, profile, 20, seed=seed), "simpy").trace.table
        return float(table[table["worker"] == 0]["t_grad_done"].min())

    assert first_end(base) == pytest.approx(1.9)
    assert first_end(replace(base, slices=parse_timing("const:0.5"))) == pytest.approx(1.5)
    # random slices: the same seed gives the same run, another seed another one
    drawn = replace(
        base, compute=parse_timing("expon:scale=1"), slices=parse_timing("uniform:loc=0.1,scale=0.4")
    )
    a, b = (simulate(SimConfig("hogwild", 2, drawn, 500, seed=3), "simpy").trace.table for _ in range(2))
    assert a.equals(b)
    c = simulate(SimConfig("hogwild", 2, drawn, 500, seed=4), "simpy").trace.table
    assert not a.equals(c)
    constant = simulate(
        SimConfig("hogwild", 2, replace(drawn, slices=None), 500, seed=3), "simpy"
    ).trace.table
    cpu = (a["t_grad_done"] - a["t_read"]).sum(), (constant["t_grad_done"] - constant["t_read"]).sum()
    assert not a.equals(constant) and cpu[0] != cpu[1]
    assert HardwareProfile(slices=parse_timing("const:0.5")).to_dict()["slices"] == "const:0.5"
    assert HardwareProfile().to_dict()["slices"] is None


def test_a_convoy_publish_drawn_reversed_ends_before_the_one_it_met() -> None:
    from staleness_sim.mechanisms import Writes

    class Coin:  # a stream whose draws are given
        def __init__(self, *values: float) -> None:
            self.values = list(values)

        def random(self) -> float:
            return self.values.pop(0)

    writes = Writes(reversed_share=0.5, rng=Coin(0.4, 0.6))  # type: ignore[arg-type]
    assert writes.begin(0, 10.0, 4.0, convoy=1.0) == 4.0  # nothing under way: no draw
    # a quarter into worker 0's publish (10 to 14), the draw 0.4 < 0.5: ends 0.25 before 14
    assert writes.begin(1, 11.0, 9.0, convoy=1.0) == pytest.approx(13.75 - 11.0)
    assert (writes.worker, writes.end) == (0, 14.0)  # the one that ends last is still worker 0's
    # the draw 0.6: behind it, as without reversals
    assert writes.begin(1, 12.0, 9.0, convoy=1.0) == pytest.approx(14.5 - 12.0)
    # never before its own start: 0.25 before the end of a publish that ends 0.1 later
    late = Writes(reversed_share=1.0, rng=Coin(0.0))  # type: ignore[arg-type]
    late.begin(0, 0.0, 1.0, convoy=1.0)
    assert late.begin(1, 0.9, 1.0, convoy=1.0) == 0.0


def test_a_gradient_begun_just_after_another_workers_takes_its_time_times_the_ratio() -> None:
    from staleness_sim.mechanisms import Starts
    from staleness_sim.timing import Constant

    rng = np.random.default_rng(0)
    starts = Starts(window=1.0, ratio=Constant(2.0), speeds=np.array([1.0, 3.0]), rng=rng)
    assert starts.begin(0, 0.0, 5.0) == 5.0  # the first: its own draw
    # worker 1 (three times slower) within the window: 5 x 2 x 3, whatever its own draw
    assert starts.begin(1, 0.5, 7.0) == pytest.approx(30.0)
    assert starts.begin(0, 0.9, 6.0) == 6.0  # the same worker as the first: its own draw
    assert starts.begin(1, 1.5, 7.0) == pytest.approx(6.0 * 2.0 * 3.0)  # paired with that one
    assert starts.begin(1, 3.0, 7.0) == 7.0  # outside the window: its own, and the new first
    assert starts.begin(0, 3.2, 6.0) == pytest.approx(7.0 * 2.0 / 3.0)  # the faster one


def test_paired_gradients_keep_the_convoys_leader_and_cost_no_engine_exactness() -> None:
    # Two workers whose publishes meet (a convoy): paired gradients make the one that began
    # first end first far more often than independent draws do, which is what holds real
    # threads' staleness at 1 (docs/validation.md, "Convoys that end in either order");
    # without a convoy, pairing changes nothing (the workers never begin together)
    # (timings of the Fashion-MNIST MLP's: 240-us gradients, 80-us publishes, a 0.5-us gap)
    profile = HardwareProfile(
        compute=parse_timing("gamma:a=100,scale=2.4e-6"),
        read=parse_timing("gamma:a=4,scale=1.25e-7"),
        publish=parse_timing("gamma:a=8,scale=1e-5"),
        convoy=9e-6,
    )
    paired = replace(profile, paired_window=2.4e-5, paired_ratio=parse_timing("uniform:loc=1.0,scale=0.15"))

    def led_again(p: HardwareProfile) -> float:
        tau = simulate(SimConfig("hogwild", 2, p, 20_000, seed=1), "simpy").trace.staleness()
        return float(np.mean(tau == 1))

    # (seeds 1-3 gave 0.61, 0.97 and, with a fifth of the convoys reversed, 0.79, each within
    # 0.005: the margins below are over 30 times that)
    alone, kept, reversed_ = (led_again(p) for p in (profile, paired, replace(paired, convoy_reversed=0.2)))
    assert kept > alone + 0.2 and alone + 0.1 < reversed_ < kept - 0.1
    free = replace(profile, convoy=0.0)
    a = simulate(SimConfig("hogwild", 2, free, 5_000, seed=1), "simpy").trace.table
    b = simulate(SimConfig("hogwild", 2, replace(paired, convoy=0.0), 5_000, seed=1), "simpy").trace.table
    assert a.equals(b)
