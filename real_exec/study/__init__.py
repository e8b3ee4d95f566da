"""The study built on the executor: calibration of a simulator profile from real Traces
(and its probes), validation of the simulator against real runs, forecasts of time to
target, and convergence experiments. It joins :mod:`real_exec.executor` to
:mod:`staleness_sim`; the executor never imports it (``tests/test_architecture.py``).
"""
