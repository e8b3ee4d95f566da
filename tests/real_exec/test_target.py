"""An accuracy target is judged on the whole test set, not on the curve's noisy subset."""

from __future__ import annotations

from types import SimpleNamespace

from real_exec.executor.monitor import Target, confirmed


def _problem(full_accuracy: float | None) -> SimpleNamespace:
    calls: list[object] = []

    def evaluate_final(params: object) -> dict[str, float]:
        calls.append(params)
        return {"loss": 0.5, "accuracy": full_accuracy or 0.0}

    return SimpleNamespace(evaluate_final=evaluate_final if full_accuracy is not None else None, calls=calls)


def test_a_subset_that_crosses_the_target_is_confirmed_on_the_whole_test_set() -> None:
    target = Target(accuracy=0.85)
    point = {"loss": 0.9, "accuracy": 0.86}  # the 1,000-sample subset says 86%
    below, above = _problem(0.84), _problem(0.851)
    assert not confirmed(target, below, "params", point, initial=2.3)  # type: ignore[arg-type]
    assert confirmed(target, above, "params", point, initial=2.3)  # type: ignore[arg-type]
    assert below.calls == ["params"]  # judged at the same parameters
    # Not crossed on the subset: no full evaluation at all (it costs 10x the subset's).
    quiet = _problem(0.99)
    assert not confirmed(target, quiet, "p", {"loss": 0.9, "accuracy": 0.80}, 2.3)  # type: ignore[arg-type]
    assert quiet.calls == []
    # A loss target is the training loss's, as measured; problems without a full evaluation
    # (the small ones) keep the point's word.
    by_loss = _problem(0.10)
    assert confirmed(Target(loss_fraction=0.5), by_loss, "p", {"loss": 1.0}, 2.3)  # type: ignore[arg-type]
    assert by_loss.calls == []
    assert confirmed(target, _problem(None), "p", point, 2.3)  # type: ignore[arg-type]
