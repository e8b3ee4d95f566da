"""Helpers shared by the tests."""

from __future__ import annotations

import _thread
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numba import njit, objmode

from real_exec.app.main import main
from real_exec.executor.atomics import fetch_add
from real_exec.executor.data.cifar import TEST_FILE, TRAIN_FILES, write_cifar_batch
from real_exec.executor.data.idx import write_idx
from real_exec.executor.kernels import quadratic_kernel
from real_exec.executor.problems import Problem, make_problem

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


#: The hooks of the live :func:`hooked_quadratic` problems, by key (compiled code calls
#: them through :func:`_call_hook`).
_HOOKS: dict[int, Callable[[int, Any], None]] = {}


def _call_hook(key: int, n: int, params: Any) -> None:
    _HOOKS[key](n, params)


@njit(nogil=True)
def _hooked_kernel(p: Any, out: Any, data: Any, ws: Any) -> None:
    calls, key, base = data
    n = fetch_add(calls, 0, 1) + 1
    with objmode():
        _call_hook(key, n, p)
    quadratic_kernel(p, out, base, ws)


def hooked_quadratic(hook: Callable[[int, Any], None]) -> Problem:
    """The ``quadratic`` problem whose compiled gradient kernel first calls the Python
    ``hook(n, params)`` (through ``numba.objmode``), ``n`` counting the calls from 1 (the
    runner's warm-up call included): for failures, Ctrl-C, tampering. Each ``n`` is given to
    exactly one call, whichever thread makes it (an atomic fetch-and-add)."""
    base = make_problem("quadratic", np.random.default_rng(0))
    key = len(_HOOKS)
    _HOOKS[key] = hook
    calls = np.zeros(1, dtype=np.int64)
    return replace(base, kernel=_hooked_kernel, data=(calls, key, base.data))


def ctrl_c_at_300(n: int, _params: object) -> None:
    """A :func:`hooked_quadratic` hook: press Ctrl-C (interrupt the main thread) at gradient 300."""
    if n == 300:
        _thread.interrupt_main()


def write_mnist(folder: Path, n_train: int = 12, n_test: int = 6, gz: bool = True) -> Path:
    """Four tiny IDX files of random 28x28 images with labels 0, 1, ..., 9, 0, ..."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n) % 10)
    return folder


def write_cifar(folder: Path, per_file: int = 4) -> Path:
    """Six tiny CIFAR-10 batch files (five training, one test) of random images."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*TRAIN_FILES, TEST_FILE):
        write_cifar_batch(
            folder / name, rng.integers(0, 256, (per_file, 32, 32, 3)), np.arange(per_file) % 10
        )
    return folder


def chromium() -> str | None:
    """A headless-capable Chromium on this machine, if any (Debian's package ``chromium``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def images_loaded_in_chromium(page: Path, scratch: Path) -> tuple[int, int]:
    """Open the report ``page`` in headless Chromium: (images that loaded, images in all)."""
    probe = (
        "<div id='imgcheck'>pending</div><script>window.addEventListener('load', () => {"
        "const imgs = [...document.images];"
        "document.getElementById('imgcheck').textContent ="
        " imgs.filter(i => i.complete && i.naturalWidth > 0).length + '/' + imgs.length;});</script>"
    )
    check = page.parent / "_imgcheck.html"
    check.write_text(page.read_text().replace("</body>", probe + "</body>"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={scratch / 'chromium-profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
    ]
    browser = chromium()
    assert browser is not None
    dom = subprocess.run(
        [browser, *flags, check.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    check.unlink()
    match = re.search(r"id=\"imgcheck\">(\d+)/(\d+)<", dom)
    assert match is not None, dom[-500:]
    loaded, total = map(int, match.groups())
    return loaded, total
