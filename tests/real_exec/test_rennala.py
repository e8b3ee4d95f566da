"""Rennala SGD for real: S gradients of the current version per step, older ones thrown away."""

from __future__ import annotations

import numpy as np
import pytest

from real_exec import RunConfig
from real_exec.executor.problems import make_problem
from real_exec.executor.runner import run
from real_exec.study.predict.replay import replay
from tests.helpers import argv
from tests.helpers import run_cli as run_cli
from tests.real_exec.predict.hand_made import hand_quadratic


@pytest.mark.parametrize("threads, batch", [(1, 3), (3, None), (3, 5)])
def test_each_step_averages_s_gradients_of_the_version_it_follows(threads: int, batch: int | None) -> None:
    config = RunConfig("rennala", threads, eta=0.05, gradients=3000, seed=2, step_batch=batch)
    result = run(config, make_problem("quadratic", np.random.default_rng(0)))
    table = result.trace.table
    kept, thrown = table[~table["dropped"]], table[table["dropped"]]
    size = batch or threads
    assert result.trace.meta["step_batch"] == size
    assert (kept["tau"] == 0).all() and (kept["read_version"] == kept["apply_version"] - 1).all()
    counts = kept.groupby("apply_version").size()
    assert (counts == size).all() and list(counts.index) == list(range(1, counts.size + 1))
    assert (thrown["attempts"] == 0).all()
    if threads == 1:
        assert thrown.empty  # alone, a worker always reads the current version
    # every step the workers applied is in the bookkeeping, and nothing else: the arithmetic
    # of the accumulator holds (a lost or doubled gradient would show here)
    assert result.lost_update_norm is not None and result.lost_update_norm < 1e-9


def test_a_replay_of_a_real_rennala_trace_gives_its_parameters() -> None:
    """Exact gradients (no noise): the replay, which averages each step's rows at the
    version they read, lands where the threads did (to rounding: (eta/S) sum g there,
    eta (sum g)/S here)."""
    problem = hand_quadratic()
    result = run(RunConfig("rennala", 2, eta=0.1, gradients=400, seed=0, step_batch=3), problem)
    again = replay(result.trace, problem, 0.1, evaluate_every=1e9)
    steps = int(result.trace.table["apply_version"].max())
    assert again.updates == steps > 50
    np.testing.assert_allclose(again.params, result.params, rtol=0, atol=1e-12)


def test_a_slow_worker_has_its_gradients_thrown_away() -> None:
    """Speeds (1, 4), S = 2: the fast worker fills most steps while the slow one computes,
    so most of the slow worker's gradients are of an older version (a wide margin: at 4x,
    about 4 steps pass per slow gradient)."""
    config = RunConfig("rennala", 2, eta=0.05, seconds=0.5, seed=1, step_batch=2, speeds=(1, 4))
    table = run(config, make_problem("quadratic", np.random.default_rng(0))).trace.table
    thrown_share = table.groupby("worker")["dropped"].mean()
    assert thrown_share[1] > 0.5 > thrown_share[0]


def test_the_step_batch_belongs_to_rennala(capsys) -> None:
    with pytest.raises(ValueError, match="only Rennala SGD has a step batch"):
        RunConfig("lock", 2, eta=0.05, gradients=10, step_batch=2)
    with pytest.raises(ValueError, match="integer >= 1"):
        RunConfig("rennala", 2, eta=0.05, gradients=10, step_batch=0)
    code, _, err = run_cli(capsys, *argv("run --algo lock --threads 1 --gradients 10 --step-batch 2"))
    assert code == 2 and "only Rennala SGD has a step batch" in err
    code, _, err = run_cli(capsys, *argv("simulate --algo sync --workers 2 --step-batch 2"))
    assert code == 2 and "only Rennala SGD has a step batch" in err
