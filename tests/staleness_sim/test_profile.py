from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from staleness_sim.profile import HardwareProfile, load_profile, shipped_profiles
from staleness_sim.timing import Constant, PhaseDraws, describe, draw, parse_timing


def test_shipped_profiles_load_and_round_trip(tmp_path: Path) -> None:
    assert shipped_profiles() == ["laptop-2", "server-2s-64", "workstation-16"]
    server = load_profile("server-2s-64")
    assert server.cores == 64 and server.sockets == 2 and server.numa_penalty > 1
    # 101,770 float64 parameters at 100 GB/s.
    assert server.copy_time == pytest.approx(101_770 * 8 / 100e9)
    text = "[profile]\n" + "\n".join(
        f"{k} = {v!r}".replace("'", '"') if not isinstance(v, list) else f"{k} = {v}"
        for k, v in server.to_dict().items()
        if v is not None
    )
    (tmp_path / "p.toml").write_text(text.replace("True", "true").replace("False", "false"))
    again = load_profile(tmp_path / "p.toml")
    assert again.to_dict() == server.to_dict()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("cores = 4\nwarp = 3", "unknown profile field.*warp"),
        ("cores = 0", "'cores' must be an integer >= 1"),
        ('compute = "norm:loc=1"', "'compute'.*durations must be >= 0"),
        ('compute = "nosuch:a=1"', "'compute'.*not a continuous scipy.stats"),
        ("numa_penalty = 0.5", "'numa_penalty' must be a number >= 1"),
        ("speed = [1.0, -2.0]", "'speed'"),
        ("bandwidth_gbs = 0", "'bandwidth_gbs'"),
        ("gil_handoff = -1e-6", "'gil_handoff' must be a number >= 0"),
        ("contention = [1.0, 0.0]", "'contention' must be a non-empty list of numbers > 0"),
        ("contention = []", "'contention'"),
        ("publish_contention = [1.0, -1.5]", "'publish_contention' must be a non-empty list"),
    ],
)
def test_bad_profiles_name_the_field(tmp_path: Path, body: str, match: str) -> None:
    (tmp_path / "bad.toml").write_text(f"[profile]\n{body}\n")
    with pytest.raises(ValueError, match=match):
        load_profile(tmp_path / "bad.toml")


def test_profile_file_errors(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text("cores = 2\n")
    with pytest.raises(ValueError, match=r"\[profile\] table"):
        load_profile(tmp_path / "x.toml")
    (tmp_path / "y.toml").write_text("[profile\n")
    with pytest.raises(ValueError, match="invalid TOML"):
        load_profile(tmp_path / "y.toml")
    with pytest.raises(ValueError, match="neither a file nor"):
        load_profile("no-such-profile")


def test_overrides_and_numa_placement() -> None:
    p = HardwareProfile(cores=8, sockets=2, numa_penalty=2.0).with_overrides(compute="const:2", cores=None)
    assert p.compute.mean() == 2.0 and p.cores == 8
    assert p.memory_factors(8).tolist() == [1.0] * 4 + [2.0] * 4
    assert HardwareProfile(speed=(1.0, 2.5)).speeds(5).tolist() == [1.0, 2.5, 1.0, 2.5, 1.0]


def test_contention_factor_follows_the_busy_cores(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[profile]\ncores = 3\ncontention = [1.0, 1.2, 1.5]\n")
    p = load_profile(tmp_path / "c.toml")
    assert p.contention == (1.0, 1.2, 1.5) and p.to_dict()["contention"] == [1.0, 1.2, 1.5]
    # k = min(workers, cores) busy cores: 3 cores never see more than entry 3.
    assert [p.contention_factor(w) for w in (1, 2, 3, 8)] == [1.0, 1.2, 1.5, 1.5]
    # Without a core limit every worker is busy; beyond the list, its last entry.
    q = HardwareProfile(contention=(1.0, 1.25))
    assert [q.contention_factor(w) for w in (1, 2, 40)] == [1.0, 1.25, 1.25]
    assert HardwareProfile().contention_factor(64) == 1.0
    # The publishes' factor is read the same way, from its own list.
    r = HardwareProfile(cores=3, contention=(1.0, 9.0), publish_contention=(1.0, 1.4, 1.7))
    assert [r.publish_contention_factor(w) for w in (1, 2, 3, 8)] == [1.0, 1.4, 1.7, 1.7]
    assert r.to_dict()["publish_contention"] == [1.0, 1.4, 1.7]


def test_timing_parsing() -> None:
    assert parse_timing("const:0.5").mean() == 0.5
    assert parse_timing(2).mean() == 2.0
    g = parse_timing("gamma:a=4,scale=0.25")
    assert g.mean() == pytest.approx(1.0) and describe(g) == "gamma:a=4,scale=0.25"
    custom = stats.uniform(loc=1, scale=2)
    assert parse_timing(custom) is custom
    for bad, match in [
        ("const:x", "const needs"),
        ("expon:scale", "k=v"),
        ("expon:scale=abc", "number"),
        ("poisson:mu=1", "continuous"),
        ("expon:scale=inf", "finite"),
    ]:
        with pytest.raises(ValueError, match=match):
            parse_timing(bad)
    with pytest.raises(ValueError, match=">= 0"):
        Constant(-1.0)


@given(st.integers(1, 5), st.integers(1, 50), st.integers(0, 2**16))
def test_samplers_see_exactly_the_drawn_block_columns(workers, rows, seed) -> None:
    # Workers consume their durations at different paces (an event loop); whatever the
    # interleaving, each sees its own column of the blocks, scaled by its factor, so the
    # vectorized take() returns the same numbers.
    model = parse_timing("lognorm:s=0.5,scale=1")
    scales = np.linspace(1.0, 2.0, workers)
    stream = PhaseDraws(model, np.random.default_rng(seed), scales, rows)
    samplers = [stream.sampler(i) for i in range(workers)]
    order = np.random.default_rng(seed + 1).integers(0, workers, 60 * workers)
    seen: list[list[float]] = [[] for _ in range(workers)]
    for i in order:
        seen[i].append(samplers[i]())
    longest = max(len(s) for s in seen)
    expected = PhaseDraws(model, np.random.default_rng(seed), scales, rows).take(longest)
    assert expected.shape == (longest, workers)
    for i in range(workers):
        assert np.array_equal(seen[i], expected[: len(seen[i]), i])
    # Taken in two steps (an event loop's buffer grown), the stream is the same: the blocks
    # of the first take are kept, the later ones drawn on.
    growing = PhaseDraws(model, np.random.default_rng(seed), scales, rows)
    first = growing.take(max(1, longest // 3)).copy()
    assert np.array_equal(growing.take(longest), expected)
    assert np.array_equal(first, expected[: first.shape[0]])


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 20), st.integers(1, 3000), st.integers(0, 2**16))
def test_phases_drawn_together_are_the_phases_drawn_one_by_one(workers, rows, seed) -> None:
    # take_together draws the random phases in threads of their own (two or more of them,
    # TOGETHER draws or more each, on more than one core): each phase its own stream, the
    # same numbers; a constant phase stays a broadcast view. The threshold is lowered so that
    # the threads run at every size drawn, and two cores are claimed so that they run here.
    import threading

    from staleness_sim import timing

    def phases() -> tuple[PhaseDraws, ...]:
        rngs = np.random.SeedSequence(seed).spawn(3)
        scales = np.linspace(1.0, 3.0, workers)
        models = ("gamma:a=4,scale=0.25", "expon:scale=0.05", "lognorm:s=0.5,scale=1")
        drawn = [
            PhaseDraws(parse_timing(m), np.random.default_rng(r), scales, rows)
            for m, r in zip(models, rngs, strict=True)
        ]
        return (*drawn, PhaseDraws(Constant(0.5), None, scales, rows))

    counts = (rows, 2 * rows + 1, rows, rows)
    expected = [p.take(n) for p, n in zip(phases(), counts, strict=True)]
    drawn_in: set[str] = set()
    take = PhaseDraws.take

    def spy(self: PhaseDraws, n: int) -> np.ndarray:
        drawn_in.add(threading.current_thread().name)
        return take(self, n)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timing, "TOGETHER", 1)
        mp.setattr(timing.os, "sched_getaffinity", lambda pid: {0, 1})
        mp.setattr(PhaseDraws, "take", spy)
        together = timing.take_together(phases(), counts)
    assert all(np.array_equal(a, b) for a, b in zip(together, expected, strict=True))
    assert not together[3].flags.writeable
    assert any(name.startswith("draws") for name in drawn_in) and threading.current_thread().name in drawn_in


def test_phases_drawn_together_in_a_forked_child() -> None:
    # A forked child has none of its parent's threads: drawing together there must start
    # threads of its own rather than wait for the parent's forever.
    import multiprocessing

    from staleness_sim import timing

    def draw() -> None:
        rngs = np.random.SeedSequence(0).spawn(2)
        expon = parse_timing("expon:scale=1")
        phases = [PhaseDraws(expon, np.random.default_rng(r), [1.0], 64) for r in rngs]
        timing.take_together(phases, (64, 64))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timing, "TOGETHER", 1)
        mp.setattr(timing.os, "sched_getaffinity", lambda pid: {0, 1})
        draw()  # the parent's threads exist
        child = multiprocessing.get_context("fork").Process(target=draw)
        child.start()
        child.join(timeout=60)
        if child.exitcode is None:
            child.kill()
    assert child.exitcode == 0


def test_blocks_are_freed_once_every_worker_passed_them() -> None:
    stream = PhaseDraws(parse_timing("expon:scale=1"), np.random.default_rng(0), [1.0, 1.0], rows=4)
    a, b = stream.sampler(0), stream.sampler(1)
    for _ in range(9):  # worker 0 enters block 2
        a()
    b()
    assert stream.block(1) is not None
    for _ in range(8):  # worker 1 enters block 2: blocks 0 and 1 are no longer needed
        b()
    with pytest.raises(RuntimeError, match="freed"):
        stream.block(0)
    const = PhaseDraws(Constant(0.5), np.random.default_rng(0), [1.0, 3.0], rows=4)
    assert const.sampler(1)() == 1.5
    assert np.array_equal(const.take(3), [[0.5, 1.5]] * 3)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["gamma", "expon"]),
    shape=st.floats(0.05, 50.0),
    scale=st.floats(1e-6, 1e3),
    loc=st.sampled_from([None, 0.0, 0.5]),
    rows=st.integers(1, 300),
    workers=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_drawing_without_scipy_gives_scipys_numbers(name, shape, scale, loc, rows, workers, seed) -> None:
    # The gamma and exponential draws skip scipy's rvs; they must be its numbers bit for
    # bit, and leave the generator where scipy leaves it (the next block depends on it).
    kwds = {"scale": scale} | ({"a": shape} if name == "gamma" else {})
    kwds |= {} if loc is None else {"loc": loc}
    model = getattr(stats, name)(**kwds)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    ours = draw(model, (rows, workers), a)
    theirs = model.rvs(size=(rows, workers), random_state=b)
    assert ours.dtype == np.float64 and np.array_equal(ours, theirs)
    assert a.random() == b.random()


def test_profile_reads_and_writes_the_publish_attempts() -> None:
    from staleness_sim.profile import _from_mapping

    p = _from_mapping({"publish_cached": "const:1e-6", "publish_retry": "gamma:a=4,scale=1e-6"})
    assert p.publish_cached.mean() == 1e-6 and p.publish_retry.mean() == pytest.approx(4e-6)
    again = _from_mapping({k: v for k, v in p.to_dict().items() if v is not None})
    assert again.publish_cached.mean() == 1e-6 and again.publish_retry.mean() == pytest.approx(4e-6)
    assert HardwareProfile().publish_cached is None and HardwareProfile().to_dict()["publish_retry"] is None
