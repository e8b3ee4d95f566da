import sys
from pathlib import Path

import numpy as np
import pytest

import real_exec.executor.stolen_time as stolen_time
from real_exec.executor.stolen_time import core_times, stolen_fraction

# /proc/stat's layout (proc(5)): the "cpu" line sums the per-CPU lines; fields user, nice,
# system, idle, iowait, irq, softirq, steal, guest, guest_nice (guest time is already in user).
STAT = """cpu  300 0 60 500 4 0 2 40 0 0
cpu0 100 0 20 250 2 0 1 10 7 0
cpu1 200 0 40 250 2 0 1 30 0 0
intr 12345 0 0
ctxt 999
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "stat"
    path.write_text(text)
    return str(path)


def test_core_times_sums_steal_and_all_time_over_the_usable_cpus(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, STAT)
    monkeypatch.setattr(stolen_time, "_usable_cpus", lambda: {0, 1})
    assert core_times(path).tolist() == [40, 100 + 20 + 250 + 2 + 1 + 10 + 200 + 40 + 250 + 2 + 1 + 30]
    monkeypatch.setattr(stolen_time, "_usable_cpus", lambda: {1})  # pinned to one CPU: only its line
    assert core_times(path).tolist() == [30, 200 + 40 + 250 + 2 + 1 + 30]


def test_core_times_without_proc_stat_is_none(tmp_path: Path) -> None:
    assert core_times(str(tmp_path / "missing")) is None
    assert core_times(write(tmp_path, "cpu0 garbage\n")) is None


def test_the_stolen_fraction_is_the_steal_share_of_the_ticks_between_two_readings() -> None:
    assert stolen_fraction(np.array([40, 1000]), np.array([70, 1200])) == pytest.approx(30 / 200)
    assert np.isnan(stolen_fraction(None, np.array([1, 2])))
    assert np.isnan(stolen_fraction(np.array([1, 2]), np.array([1, 2])))  # no tick in between


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat is Linux's")
def test_this_machine_counts_ticks() -> None:
    before = core_times()
    assert before is not None and before[1] > 0 and 0 <= before[0] <= before[1]
