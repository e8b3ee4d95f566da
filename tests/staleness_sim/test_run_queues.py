"""Cores with a run queue each: placement, idle pulling, woken workers first, spinning waiters."""

from __future__ import annotations

import simpy

from staleness_sim.run_queues import RunQueues


def test_an_idle_core_pulls_a_worker_waiting_for_another_core() -> None:
    env = simpy.Environment()
    cores = RunQueues(env, 2)
    first, second = cores.request(0, 0, False), cores.request(1, 1, False)
    third = cores.request(2, 0, False)  # core 0 is taken: waits in its queue
    assert (first.value, second.value, third.triggered) == (0, 1, False)
    assert cores.waiting(0) and not cores.waiting(1)
    cores.release(1)  # nobody waits for core 1: it takes worker 2 from core 0's queue
    assert third.value == 1 and cores.running == [0, 2]
    cores.release(1)  # nobody waits anywhere: core 1 stays idle
    assert cores.running == [0, None]
    assert cores.request(3, 0, False).value == 1  # home taken, another core idle: that one


def test_a_woken_worker_goes_ahead_of_those_not_woken() -> None:
    env = simpy.Environment()
    cores = RunQueues(env, 1)
    cores.request(0, 0, False)
    late = [cores.request(w, 0, woken) for w, woken in ((1, False), (2, True), (3, True))]
    assert cores.urgent(0)
    order = []
    for _ in range(3):
        cores.release(0)
        order.append(cores.running[0])
    assert order == [2, 3, 1] and all(e.triggered for e in late)
    assert not cores.urgent(0)


def test_a_spinning_worker_is_told_only_when_a_worker_that_computes_wants_its_core() -> None:
    env = simpy.Environment()
    cores = RunQueues(env, 1)
    cores.request(0, 0, False)  # worker 0 runs, and spins
    cores.spinning.update({0, 1})
    wanted = cores.wanted(0)
    cores.request(1, 0, False)  # another spinner queues: nothing to yield to
    assert not wanted.triggered
    cores.request(2, 0, False)  # a worker that computes queues
    assert wanted.triggered and cores.wanted(0).triggered


def test_a_queued_spinner_released_wants_its_core() -> None:
    env = simpy.Environment()
    cores = RunQueues(env, 1)
    cores.request(0, 0, False)
    cores.spinning.update({0, 1})
    cores.request(1, 0, False)  # worker 1 spins, queued behind worker 0
    wanted = cores.wanted(0)
    cores.stop_spinning(0)  # a worker not queued: nothing changes
    assert not wanted.triggered
    cores.stop_spinning(1)  # released while queued: it now waits to compute
    assert wanted.triggered and 1 not in cores.spinning
