"""Comparing two Traces: staleness distance, homogeneity test, throughput ratio."""

from __future__ import annotations

import pytest

from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import parse_timing
from theory.compare import compare_traces


def test_compare_identical_and_different_traces() -> None:
    p = HardwareProfile(compute=parse_timing("expon:scale=1"))
    a = simulate(SimConfig("hogwild", 4, p, 20_000, seed=1)).trace
    same = compare_traces(a, a)
    assert (
        same.tv == 0 and same.w1 == 0 and same.throughput_ratio == pytest.approx(1.0) and same.p_value == 1.0
    )
    b = simulate(SimConfig("hogwild", 8, p, 20_000, seed=1)).trace
    diff = compare_traces(a, b)
    assert diff.tv > 0.2 and diff.p_value < 1e-6 and diff.throughput_ratio == pytest.approx(2.0, rel=0.05)
