"""Leashed-SGD's mechanisms in the simulator: the stall of a gradient near another worker's
publish, and the publish attempts' timings by where they build (the exact cases and the
invariants common to every algorithm: test_engine.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import parse_timing


def test_leashed_gradients_stall_on_time_shared_cores_too() -> None:
    # 3 Leashed-SGD workers on 2 cores, 1 ms slices: a cycle of 221 us on a core (read 1,
    # gradient 200 on average, publish 20). A gradient that begins while another worker
    # publishes, or sees a publish begin in its first 100 us, takes a stall of 100 us more
    # on its core, so throughput drops, to no less than 221 / 321 = 0.69 of the free run's
    # (every gradient stalled); with another publish begun in about half the windows
    # (0.81 measured with this seed), below 0.9. A window without a stall changes nothing.
    timing = dict(compute="gamma:a=16,scale=1.25e-5", publish="const:2e-5", read="const:1e-6")
    shared = HardwareProfile().with_overrides(**timing, cores=2, quantum=1e-3)
    free = simulate(SimConfig("leashed", 3, shared, 20_000, seed=1)).trace
    none = simulate(SimConfig("leashed", 3, replace(shared, stall_window=1e-4), 20_000, seed=1)).trace
    stalled = replace(shared, stall=1e-4, stall_window=1e-4)
    slow = simulate(SimConfig("leashed", 3, stalled, 20_000, seed=1)).trace
    rate = {k: len(v) / v.table["t_apply"].max() for k, v in (("free", free), ("none", none), ("slow", slow))}
    assert rate["none"] == rate["free"]
    assert 221 / 321 * rate["free"] < rate["slow"] < 0.9 * rate["free"]


def test_a_gradient_near_another_workers_publish_stalls_once() -> None:
    import simpy

    from staleness_sim.fast_engine import fast_supported
    from staleness_sim.mechanisms import Publishes

    def gradient_ends(events: list[tuple[float, str]], start: float, duration: float) -> float:
        """When a gradient begun at ``start`` ends, the publishes beginning ('b') and ending
        ('e') at the times given; stall 2, window 3."""
        env = simpy.Environment()
        publishes = Publishes(env)
        ended: list[float] = []

        def other() -> Any:
            for at, what in events:
                yield env.timeout(at - env.now)
                publishes.begin() if what == "b" else publishes.end()

        def worker() -> Any:
            yield env.timeout(start)
            yield from publishes.gradient(duration, stall=2.0, window=3.0)
            ended.append(env.now)

        env.process(other())
        env.process(worker())
        env.run()
        return ended[0]

    assert gradient_ends([], 1.0, 10.0) == 11.0  # no publish: its own time
    assert gradient_ends([(0.5, "b"), (1.5, "e")], 1.0, 10.0) == 13.0  # under way at its start
    assert gradient_ends([(3.5, "b"), (4.0, "e")], 1.0, 10.0) == 13.0  # begun within the window
    assert gradient_ends([(4.5, "b"), (5.0, "e")], 1.0, 10.0) == 11.0  # begun after it
    # two publishes within the window: one stall
    assert gradient_ends([(1.5, "b"), (2.0, "e"), (2.5, "b"), (3.0, "e")], 1.0, 10.0) == 13.0
    assert gradient_ends([(1.5, "b"), (2.0, "e")], 1.0, 1.0) == 4.0  # a gradient shorter than the window
    profile = HardwareProfile(
        compute=parse_timing("expon:scale=1"), publish=parse_timing("const:0.5"), stall=0.1, stall_window=0.2
    )
    config = SimConfig("leashed", 2, profile, 2000, seed=0)
    assert "stall" in (fast_supported(config) or "")
    assert simulate(config).engine == "simpy"  # auto takes the engine that models it
    with pytest.raises(ValueError, match="stall"):
        simulate(config, "fast")
    # the stall lengthens the simulated gradients: fewer of them per second
    plain = simulate(SimConfig("leashed", 2, replace(profile, stall=0.0), 2000, seed=0)).trace
    stalled = simulate(config).trace
    assert stalled.table["t_apply"].max() > plain.table["t_apply"].max()


def test_leashed_publish_attempts_take_the_timing_of_where_they_build() -> None:
    # Constant phases make each attempt's kind readable in the Trace: a first attempt on the
    # version read takes publish_cached (1), one on a newer version publish (2), each later
    # attempt publish_retry (5); so a row's publish phase is exactly one of 1, 2, 1 + 5k or
    # 2 + 5k, its kind given by its attempts and staleness.
    from staleness_sim.fast_engine import fast_supported

    profile = HardwareProfile(
        compute=parse_timing("expon:scale=4"),
        publish=parse_timing("const:2"),
        publish_cached=parse_timing("const:1"),
        publish_retry=parse_timing("const:5"),
    )
    config = SimConfig("leashed", 2, profile, 4000, seed=0)
    assert fast_supported(config) is not None  # the event loop of SimPy runs it
    t = simulate(config).trace.table
    phase = (t["t_apply"] - t["t_grad_done"]).to_numpy()
    attempts, tau = t["attempts"].to_numpy(), t["tau"].to_numpy()
    first = attempts == 1
    assert np.allclose(phase[first & (tau == 0)], 1.0)
    assert np.allclose(phase[first & (tau >= 1)], 2.0)
    again = ~first
    later = phase[again] - 5.0 * (attempts[again] - 1)
    assert again.sum() > 50 and np.all(np.isclose(later, 1.0) | np.isclose(later, 2.0))
    # left out, every attempt takes publish (2 per attempt), as before
    plain = simulate(replace(config, profile=replace(profile, publish_cached=None, publish_retry=None)))
    t = plain.trace.table
    assert np.allclose(t["t_apply"] - t["t_grad_done"], 2.0 * t["attempts"])


def test_a_slow_workers_stall_is_slowed_too() -> None:
    # The stall is part of the gradient's own time, which a worker of speed 3 takes 3 times
    # as long: with a constant gradient of 1 and a stall of 0.1, the fast worker's gradients
    # take 1 or 1.1, the slow one's 3 or 3.3 (and both kinds occur).
    profile = HardwareProfile(
        compute=parse_timing("const:1"),
        publish=parse_timing("const:0.5"),
        stall=0.1,
        stall_window=0.2,
        speed=(1.0, 3.0),
    )
    t = simulate(SimConfig("leashed", 2, profile, 2000, seed=0)).trace.table
    g = (t["t_grad_done"] - t["t_read"]).round(9)
    assert sorted(set(g[t["worker"] == 0])) == [1.0, 1.1]
    assert sorted(set(g[t["worker"] == 1])) == [3.0, 3.3]
