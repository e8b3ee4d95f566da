import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from theory.trace import COLUMNS, Trace, read_staleness


def _trace() -> Trace:
    return Trace.from_columns(
        meta={"algorithm": "lock", "workers": 2, "seed": 1},
        worker=[0, 1, 0, 1],
        read_version=[0, 0, 1, 2],
        apply_version=[1, 2, 3, -1],
        t_read=[0.0, 0.0, 1.0, 1.5],
        t_grad_done=[1.0, 1.1, 2.0, 2.4],
        t_apply=[1.0, 1.2, 2.1, 2.5],
        attempts=[1, 1, 1, 3],
        step_size=[0.1, 0.1, 0.1, 0.1],
    )


def test_tau_is_derived_and_dropped_rows_are_marked() -> None:
    t = _trace()
    assert t.table["tau"].tolist() == [0, 1, 1, -1]
    assert t.table["dropped"].tolist() == [False, False, False, True]
    assert t.staleness().tolist() == [0, 1, 1]
    assert dict(t.table.dtypes.astype(str)) == COLUMNS


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    t = _trace()
    parquet, meta = t.save(tmp_path / "run")
    assert parquet.name == "run.parquet" and meta.name == "run.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.parquet"]  # no temp files
    back = Trace.load(tmp_path / "run.parquet")
    pd.testing.assert_frame_equal(back.table, t.table)
    assert back.meta == json.loads(meta.read_text()) == {"algorithm": "lock", "seed": 1, "workers": 2}


def test_inconsistent_tau_is_rejected() -> None:
    frame = _trace().table.copy()
    frame.loc[0, "tau"] = 5
    with pytest.raises(ValueError, match="tau must equal"):
        Trace(frame)
    with pytest.raises(ValueError, match="lacks columns"):
        Trace(frame.drop(columns=["attempts"]))
    frame = _trace().table.copy()
    frame.loc[1, "dropped"] = True
    with pytest.raises(ValueError, match="dropped rows"):
        Trace(frame)
    frame.loc[1, ["apply_version", "tau"]] = -1
    assert Trace(frame).table["dropped"].sum() == frame["dropped"].sum()  # well-formed: accepted


def test_consistent_columns_skip_only_the_tau_check() -> None:
    cols = {"worker": [0, 1], "read_version": [0, 0], "apply_version": [1, 2], "t_read": [0.0, 0.0]}
    cols |= {"t_grad_done": [1.0, 1.0], "t_apply": [1.0, 1.0], "attempts": [1, 1], "step_size": [0.1, 0.1]}
    assert Trace.from_columns(**cols).table["tau"].tolist() == [0, 1]  # derived
    with pytest.raises(ValueError, match="tau must equal"):
        Trace.from_columns(tau=[0, 0], **cols)
    assert Trace.from_consistent_columns(tau=[0, 1], **cols).table["tau"].tolist() == [0, 1]
    with pytest.raises(ValueError, match="dropped rows"):  # the cheap checks still run
        Trace.from_consistent_columns(tau=[0, 1], dropped=[False, True], **cols)


def test_read_staleness_from_csv(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("tau\n0\n2\n-1\n3\n")
    (tmp_path / "b.csv").write_text("x\n1\n1\n")
    (tmp_path / "c.csv").write_text("x,y\n1,2\n")
    assert read_staleness(tmp_path / "a.csv").tolist() == [0, 2, 3]
    assert read_staleness(tmp_path / "b.csv").tolist() == [1, 1]
    with pytest.raises(ValueError, match="tau"):
        read_staleness(tmp_path / "c.csv")
    assert np.array_equal(read_staleness(_trace().save(tmp_path / "t")[0]), [0, 1, 1])
