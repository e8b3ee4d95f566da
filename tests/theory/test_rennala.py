"""Rennala SGD's bookkeeping: the last, unfinished step's gradients are dropped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.rennala import check_step_batch, drop_unfinished, step_batch, unfinished_rows


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 6),
    st.lists(st.integers(0, 3), min_size=0, max_size=40),
    st.integers(0, 6),
    st.integers(0, 3),
)
def test_only_a_last_step_with_fewer_than_s_gradients_is_dropped(
    batch: int, drops: list[int], last: int, trailing: int
) -> None:
    """Steps 1..k of S rows each, thrown-away rows (-1) between them, then a last step of
    ``last`` rows: it is dropped exactly when ``last < S``, and nothing else changes (the
    tail search reads only the end of the rows, however long the run)."""
    rows: list[int] = []
    for v, d in enumerate(drops, start=1):
        rows += [v] * batch + [-1] * d
    final = len(drops) + 1
    rows += [final] * min(last, batch) + [-1] * trailing
    av = np.array(rows, dtype=np.int64)
    cols = {"apply_version": av.copy(), "attempts": np.ones(av.size, dtype=np.int64)}
    drop_unfinished(cols, batch)
    out = cols["apply_version"]
    expected = av.copy()
    if 0 < min(last, batch) < batch:
        expected[expected == final] = -1
    np.testing.assert_array_equal(out, expected)
    assert unfinished_rows(av, batch).size == int((av != out).sum())


def test_the_step_batch_default_and_checks() -> None:
    assert step_batch(None, 3) == 3 and step_batch(5, 3) == 5
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="integer >= 1"):
            check_step_batch(bad)  # type: ignore[arg-type]
    assert unfinished_rows(np.array([-1, -1], dtype=np.int64), 2).size == 0
