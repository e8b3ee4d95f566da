import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from theory.trace import COLUMNS, Trace, atomic_write_text, read_staleness


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


def test_a_failed_save_leaves_the_previous_trace_and_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    old = _trace()
    old.save(tmp_path / "run")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    new = Trace(old.table, {"algorithm": "hogwild", "workers": 4, "seed": 2})
    import os

    real_replace = os.replace
    calls = []

    def fail_second(src, dst):  # type: ignore[no-untyped-def]
        calls.append(dst)
        if len(calls) == 1:  # the table was written completely; fail before anything is renamed
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(OSError, match="disk full"):
        new.save(tmp_path / "run")
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temporary file left
    assert Trace.load(tmp_path / "run").meta == old.meta
    # Metadata that cannot be written (not JSON-serializable keys) fails before any rename too.
    with pytest.raises(TypeError):
        Trace(old.table, {("a", "tuple"): 1}).save(tmp_path / "run")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_table_and_metadata_from_different_saves_are_refused(tmp_path: Path) -> None:
    # A crash between the two renames leaves the new table next to the old metadata.
    first, second = _trace(), Trace(_trace().table, {"algorithm": "leashed", "workers": 8, "seed": 5})
    first.save(tmp_path / "a")
    second.save(tmp_path / "b")
    (tmp_path / "b.json").replace(tmp_path / "a.json")
    with pytest.raises(ValueError, match="does not belong to"):
        Trace.load(tmp_path / "a")
    # Reformatting the JSON by hand (same content) is fine.
    second_meta = json.loads((tmp_path / "a.json").read_text())
    (tmp_path / "b.json").write_text(json.dumps(second_meta))
    assert Trace.load(tmp_path / "b").meta == second.meta


def test_a_saved_table_without_its_metadata_is_refused_and_a_foreign_one_loads(tmp_path: Path) -> None:
    _trace().save(tmp_path / "a")
    (tmp_path / "a.json").unlink()  # copied without its JSON: the run's algorithm, workers... lost
    with pytest.raises(
        FileNotFoundError, match=r"a\.json is missing: .*a\.parquet was saved with its metadata"
    ):
        Trace.load(tmp_path / "a")
    # A table written by another tool (no digest) and no JSON: the columns, empty metadata.
    _trace().table.to_parquet(tmp_path / "b.parquet", index=False)
    loaded = Trace.load(tmp_path / "b")
    assert loaded.meta == {} and loaded.table.equals(_trace().table)


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
    frame.loc[1, "apply_version"] = -1
    with pytest.raises(ValueError, match="dropped rows"):  # its tau too
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


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_saved_files_get_the_permissions_the_umask_gives(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        parquet, meta = _trace().save(tmp_path / "run")
        atomic_write_text(tmp_path / "report.md", "# report\n")
    finally:
        os.umask(old)
    for f in (parquet, meta, tmp_path / "report.md"):
        assert f.stat().st_mode & 0o777 == mode, f
