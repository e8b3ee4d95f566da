"""The report's tables: numbers for people, names as they are."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from real_exec.app.report import Report


def test_quantities_get_separators_and_seeds_do_not(tmp_path: Path) -> None:
    report = Report(tmp_path, "t")
    report.table("runs", pd.DataFrame({"seed": [1234567], "updates": [1234567], "rate": [0.000123456]}), "c")
    md = report.write().with_suffix(".md").read_text()
    assert "| 1234567 | 1,234,567 | 0.000123 |" in md
