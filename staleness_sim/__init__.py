"""Discrete-event simulation of asynchronous SGD executions (imports :mod:`theory`).

The simulator's public names are added here as its modules land; today the package
provides no API of its own.
"""

__all__: list[str] = []
