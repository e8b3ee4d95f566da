"""Real multithreaded shared-memory SGD and the ``asgd`` command line (imports both others)."""

from real_exec.version import __version__

__all__ = ["__version__"]
