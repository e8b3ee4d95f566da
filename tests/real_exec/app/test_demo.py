"""The main job: ``asgd demo --quick`` writes a complete report whose images load."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from real_exec.app.demo import run_demo

FIGURES = (
    "real_accuracy",
    "staleness_real_vs_sim",
    "throughput_vs_workers",
    "stepsize_rules",
    "bound_vs_measured",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    run_demo(out, quick=True)
    return out


def test_report_has_every_figure_table_and_trace(report: Path) -> None:
    index = (report / "index.html").read_text()
    md = (report / "index.md").read_text()
    for name in FIGURES:
        assert f"{name}.png" in index and f"{name}.png" in md
        assert (report / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    validation = pd.read_csv(report / "validation.csv")
    assert len(validation) == 8 and validation["TV"].between(0, 1).all()
    traces = sorted(p.stem for p in (report / "traces").glob("*.parquet"))
    assert len(traces) == 16  # 4 algorithms x {1, 2} threads x {real, simulated}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium on this machine")
def test_report_images_load_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    page = (report / "index.html").read_text()
    probe = (
        "<div id='imgcheck'>pending</div><script>window.addEventListener('load', () => {"
        "const imgs = [...document.images];"
        "document.getElementById('imgcheck').textContent ="
        " imgs.filter(i => i.complete && i.naturalWidth > 0).length + '/' + imgs.length;});</script>"
    )
    check = report / "_imgcheck.html"
    check.write_text(page.replace("</body>", probe + "</body>"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
    ]
    dom = subprocess.run(
        [_chromium(), *flags, check.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    match = re.search(r"id=\"imgcheck\">(\d+)/(\d+)<", dom)
    assert match is not None, dom[-500:]
    loaded, total = map(int, match.groups())
    assert total == len(FIGURES) and loaded == total
