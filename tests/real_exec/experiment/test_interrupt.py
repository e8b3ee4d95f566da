"""Ctrl-C in a real ``asgd experiment`` process: finished runs kept, the interrupted one
discarded, exit status 130, and a rerun that runs exactly what is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

# A target no run reaches: every run takes its whole 1 s budget, so SIGINT sent 0.4 s after
# the first run is stored lands inside the second.
EXPERIMENT = """
[run]
problem = "digits-mlp"
threads = 1
eta = 0.05
algo = "lock"
[grid]
stepsize = ["constant", "inverse"]
[target]
test_accuracy = 0.9999
[budget]
seconds = 1.0
[repeat]
count = 1
"""


def _asgd(*args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from real_exec.app.main import main; import sys; sys.exit(main(sys.argv[1:]))",
        *args,
    ]


def test_ctrl_c_keeps_finished_runs_discards_the_interrupted_one_and_a_rerun_resumes(tmp_path: Path) -> None:
    spec, out = tmp_path / "exp.toml", tmp_path / "out"
    spec.write_text(EXPERIMENT)
    env = {**os.environ, "ASGD_OFFLINE": "1"}
    proc = subprocess.Popen(
        _asgd("experiment", str(spec), "--out", str(out)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("*.json")) if (out / "runs").exists() else True:
        assert proc.poll() is None and time.monotonic() < deadline, "no run finished"
        time.sleep(0.05)
    time.sleep(0.4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    stored = sorted((out / "runs").glob("*.json"))
    assert len(stored) == 1  # the finished run; not the one cut short
    assert "interrupted; 1 of 2 runs are stored" in err.decode()
    assert not (out / "runs.parquet").exists()  # no table of an unfinished experiment
    # The rerun runs the missing run (the interrupted one, again), to its full budget.
    done = subprocess.run(
        _asgd("experiment", str(spec), "--out", str(out), "--json"), env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["resumed_from"] == 1
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 2 and not runs["reached"].any()
    assert (runs["wall_time"] >= 0.95).all()  # no truncated run among them
