"""``python -m real_exec`` and the ``asgd`` console script."""

from __future__ import annotations

import sys

from real_exec.app.main import main

__all__ = ["run"]


def run() -> None:
    """Run ``asgd`` and exit with its status."""
    sys.exit(main())


if __name__ == "__main__":
    run()
