"""Helpers shared by the command-line tests."""

from __future__ import annotations

import pytest

from real_exec.app.main import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``asgd ARGS``; return the exit status, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
