"""An accuracy target is judged on the whole test set, not on the curve's noisy subset."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from real_exec.executor.monitor import Judge, Target


def _problem(full_accuracy: float | None) -> SimpleNamespace:
    calls: list[object] = []

    def evaluate_final(params: object) -> dict[str, float]:
        calls.append(params)
        return {"loss": 0.5, "accuracy": full_accuracy or 0.0}

    return SimpleNamespace(evaluate_final=evaluate_final if full_accuracy is not None else None, calls=calls)


CROSSED = {"loss": 0.9, "accuracy": 0.86}  # the 1,000-sample subset says 86%


def test_a_subset_that_crosses_the_target_is_confirmed_on_the_whole_test_set() -> None:
    target = Target(accuracy=0.85)
    below, above = _problem(0.84), _problem(0.851)
    assert not Judge(target, below).reached("params", CROSSED, initial=2.3)  # type: ignore[arg-type]
    assert Judge(target, above).reached("params", CROSSED, initial=2.3)  # type: ignore[arg-type]
    assert below.calls == ["params"]  # judged at the same parameters
    # Not crossed on the subset: no full evaluation at all (it costs several subset ones).
    quiet = _problem(0.99)
    assert not Judge(target, quiet).reached("p", {"loss": 0.9, "accuracy": 0.80}, 2.3)  # type: ignore[arg-type]
    assert quiet.calls == []
    # A loss target is the training loss's, as measured; problems without a full evaluation
    # (the small ones) keep the point's word.
    by_loss = _problem(0.10)
    assert Judge(Target(loss_fraction=0.5), by_loss).reached("p", {"loss": 1.0}, 2.3)  # type: ignore[arg-type]
    assert by_loss.calls == []
    assert Judge(target, _problem(None)).reached("p", CROSSED, 2.3)  # type: ignore[arg-type]


def _ticking(step: float):  # type: ignore[no-untyped-def]
    """A clock that advances ``step`` seconds per reading: each confirmation costs ``step``."""
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


@pytest.mark.parametrize(("interval", "skipped"), [(0.05, 3), (0.25, 0), (None, 0)])
def test_after_a_confirmation_says_no_the_next_crossings_wait_only_as_long_as_it_cost(
    interval: float | None, skipped: int
) -> None:
    # A 40 ms confirmation may take a quarter of the main thread: with checks every 50 ms the
    # next 3 crossings wait (4 checks: 200 ms); every 250 ms, none; without an interval,
    # none. The cost is the one timed before the run (a replay times it the same way).
    problem = _problem(0.84)
    judge = Judge(Target(accuracy=0.85), problem, interval, clock=_ticking(0.04))  # type: ignore[arg-type]
    judge.fix_cost("before")  # timed once, before the run; never during it
    assert judge.after_no == skipped
    answers = [judge.reached(k, CROSSED, 2.3) for k in range(2 * (skipped + 1))]
    assert answers == [False] * len(answers)
    confirmed = problem.calls[1:] if interval is not None else problem.calls
    assert confirmed == [0, skipped + 1] if skipped else confirmed == list(range(len(answers)))


def test_the_gradients_to_target_are_counted_when_the_parameters_were_taken() -> None:
    # The run's updates to the target are those behind the parameters that reached it, not
    # those the workers added while the main thread evaluated them: with a whole-test
    # confirmation of 0.3 s the workers go on for 0.3 s (tens of thousands of quadratic
    # gradients) before the run stops, and none of them may be counted.
    import time
    from dataclasses import replace

    import numpy as np

    from real_exec import RunConfig
    from real_exec.executor.problems import make_problem
    from real_exec.executor.runner import run

    base = make_problem("quadratic", np.random.default_rng(0))

    def always(params: object) -> dict[str, float]:
        return {"loss": 1.0, "accuracy": 1.0}

    def slowly(params: object) -> dict[str, float]:
        time.sleep(0.3)
        return {"loss": 1.0, "accuracy": 1.0}

    problem = replace(base, evaluate=always, evaluate_final=slowly, classification=True)
    result = run(
        RunConfig("hogwild", 1, 0.01, seconds=20, seed=0, sample_every=0.05), problem, target=Target(0.5)
    )
    assert result.reached is not None
    counted = result.reached[1]
    rate = result.counted / result.wall_time
    assert counted <= result.counted - 0.2 * rate, (counted, result.counted, rate)
