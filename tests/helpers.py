"""Helpers shared by the tests."""

from __future__ import annotations

import _thread
import shlex
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from real_exec.app.main import main
from real_exec.problems import Problem, make_problem

#: Keys every run summary has, simulated (`asgd simulate`) or real (`asgd run`).
SUMMARY_KEYS = {
    "updates",
    "throughput",
    "tau_mean",
    "tau_pmf",
    "cas_failures",
    "dropped",
    "peak_live_vectors",
}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``asgd ARGS``; return the exit status, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def argv(command_line: str) -> list[str]:
    """The words of a command line, as the shell splits them."""
    return shlex.split(command_line)


def hooked_quadratic(hook: Callable[[int, Any], None]) -> Problem:
    """The ``quadratic`` problem whose gradient first calls ``hook(n, params)``, ``n`` counting
    the calls from 1 (the runner's warm-up call included): for failures, Ctrl-C, tampering."""
    base = make_problem("quadratic", np.random.default_rng(0))
    calls = [0]

    def grad(p: Any, out: Any) -> None:
        calls[0] += 1
        hook(calls[0], p)
        base.grad(p, out)

    return Problem("quadratic", base.dim, base.dtype, grad, base.evaluate, base.init)


def ctrl_c_at_300(n: int, _params: object) -> None:
    """A :func:`hooked_quadratic` hook: press Ctrl-C (interrupt the main thread) at gradient 300."""
    if n == 300:
        _thread.interrupt_main()
