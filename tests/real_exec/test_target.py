"""An accuracy target is judged on the whole test set, not on the curve's noisy subset."""

from __future__ import annotations

from types import SimpleNamespace

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
    # Not crossed on the subset: no full evaluation at all (it costs 10x the subset's).
    quiet = _problem(0.99)
    assert not Judge(target, quiet).reached("p", {"loss": 0.9, "accuracy": 0.80}, 2.3)  # type: ignore[arg-type]
    assert quiet.calls == []
    # A loss target is the training loss's, as measured; problems without a full evaluation
    # (the small ones) keep the point's word.
    by_loss = _problem(0.10)
    assert Judge(Target(loss_fraction=0.5), by_loss).reached("p", {"loss": 1.0}, 2.3)  # type: ignore[arg-type]
    assert by_loss.calls == []
    assert Judge(target, _problem(None)).reached("p", CROSSED, 2.3)  # type: ignore[arg-type]


def test_after_a_confirmation_says_no_the_next_crossings_wait() -> None:
    # A whole-test-set evaluation costs ten subset ones: after a "no", SKIP crossings go
    # unconfirmed (the run goes on), then the next one is confirmed again.
    problem = _problem(0.84)
    judge = Judge(Target(accuracy=0.85), problem)  # type: ignore[arg-type]
    answers = [judge.reached(k, CROSSED, 2.3) for k in range(2 * (Judge.SKIP + 1))]
    assert answers == [False] * len(answers)
    assert problem.calls == [0, Judge.SKIP + 1]
