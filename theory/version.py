"""The installed package's version."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("asgd-toolkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
