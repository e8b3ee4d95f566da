"""The table of ``asgd`` commands: where each one lives and its one-line help.

``asgd --help`` prints this table without importing any command module; running a command
imports only its own module (and what that needs). A new command is one module under
``real_exec/app/`` and one row here.
"""

from __future__ import annotations

__all__ = ["COMMANDS"]

#: Command name -> (module under ``real_exec.app``, attribute, one-line help), in help order.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "demo_command", "Show the toolkit on its built-in default; write a report."),
    "stepsize": ("stepsize", "stepsize", "Evaluate a step-size rule s(tau) on a staleness pmf."),
    "bound": ("bound", "bound", "Evaluate a convergence bound for delayed SGD."),
    "fit": ("fit", "fit", "Fit Poisson and geometric models to measured staleness."),
    "simulate": ("simulate", "simulate_command", "Simulate an asynchronous SGD execution."),
    "sweep": ("simulate", "sweep_command", "Run a grid of simulations from a TOML file."),
    "run": ("run", "run_command", "Run asynchronous SGD for real on this machine."),
    "predict": ("predict", "predict_command", "Forecast time to target here or on another machine."),
    "experiment": ("experiment", "experiment_command", "Run a grid of real runs to a target, repeated."),
    "validate": ("validate", "validate_command", "Run for real, calibrate the simulator, compare."),
    "compare": ("validate", "compare_command", "Compare two saved Traces."),
    "data": ("data", "data_group", "List the data sets here; fetch the standard ones."),
    "profiles": ("profiles", "profiles_command", "List the shipped hardware profiles."),
}
