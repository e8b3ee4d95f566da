"""One registry per idea: every implementation covers the algorithm table and the rule table,
and an unknown name is refused everywhere with one line naming the choices, never run as
another algorithm or rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from real_exec.executor.algorithms import LOOPS
from real_exec.executor.config import RunConfig
from real_exec.study.calibrate import PHASE_FITTERS
from staleness_sim import SimConfig
from staleness_sim.compiled.engine import simulate_compiled
from staleness_sim.engines import simulate
from staleness_sim.fast_engine import EVENT_LOOP, VECTORIZED, simulate_fast
from staleness_sim.mechanisms import MECHANISMS
from staleness_sim.profile import HardwareProfile
from staleness_sim.sgd import sgd_under_trace
from staleness_sim.simpy_engine import simulate_simpy
from staleness_sim.timing import parse_timing
from tests.helpers import argv, run_cli
from theory.algorithms import ALGORITHMS
from theory.problems import known_problem
from theory.spec import make_rule
from theory.stepsize import RULES

CHOICES = ", ".join(ALGORITHMS)


def test_every_implementation_covers_exactly_the_algorithm_table() -> None:
    assert set(MECHANISMS) == set(LOOPS) == set(PHASE_FITTERS) == set(ALGORITHMS)
    assert sorted([*VECTORIZED, *EVENT_LOOP]) == sorted(ALGORITHMS)


def _smuggled(algo: str) -> SimConfig:
    """A configuration whose algorithm bypassed SimConfig's own check (as a subclass, a
    deserialized object or a later edit could): each engine must still refuse it."""
    config = SimConfig("lock", 2, HardwareProfile(compute=parse_timing("const:1")), 100)
    object.__setattr__(config, "algo", algo)
    return config


@pytest.mark.parametrize(
    "engine",
    [
        lambda c: simulate_simpy(c),
        lambda c: simulate_fast(c),
        lambda c: simulate_compiled(c),
        lambda c: simulate(c, "auto"),
        lambda c: simulate(c, "fast"),
        lambda c: simulate(c, "simpy"),
    ],
    ids=["simpy", "fast", "compiled", "auto", "engine=fast", "engine=simpy"],
)
def test_every_engine_refuses_an_unknown_algorithm(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="nope") as info:
        engine(_smuggled("nope"))
    assert "lock" in str(info.value) and "\n" not in str(info.value)


def test_the_configurations_refuse_an_unknown_algorithm_or_rule() -> None:
    with pytest.raises(ValueError, match=f"algo must be one of {CHOICES}, got 'nope'"):
        SimConfig("nope", 2, HardwareProfile())
    with pytest.raises(ValueError, match=f"algo must be one of {CHOICES}, got 'nope'"):
        RunConfig("nope", 2, 0.1, gradients=10)
    with pytest.raises(ValueError, match=r"rule must be one of constant, inverse, .*, got 'nope'"):
        RunConfig("lock", 2, 0.1, gradients=10, rule="nope")


def test_every_rule_is_built_by_name_and_an_unknown_one_is_refused() -> None:
    pmf = [0.5, 0.3, 0.2]
    tau = np.arange(3)
    for name, rule in RULES.items():
        s = make_rule(name, pmf if rule.needs_pmf or name in ("fleet", "ringmaster") else None)
        assert s(tau).shape == (3,) and np.all(s(tau) >= 0)
        if rule.needs_pmf:
            with pytest.raises(ValueError, match="needs a staleness pmf"):
                make_rule(name)
    with pytest.raises(ValueError, match="rule must be one of constant, inverse"):
        make_rule("nope", pmf)
    profile = HardwareProfile(compute=parse_timing("expon:scale=1"))
    trace = simulate(SimConfig("hogwild", 2, profile, 200)).trace
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rule must be one of"):
        sgd_under_trace(trace, known_problem("quadratic", rng, dim=3), rng, rule="nope")


def test_the_exponential_rule_has_one_default_beta() -> None:
    # The command line, a real run's table and the simulator's SGD all take the registry's
    # default (RuleOptions.beta), not a number of their own.
    table = RunConfig("lock", 2, 0.1, gradients=10, rule="exponential").step_scale(None, 4)
    np.testing.assert_allclose(table, make_rule("exponential")(np.arange(4)), rtol=0)


#: Each command given an unknown name, and the table whose every name its one-line error lists.
REFUSALS = [
    ("run --algo nope --threads 1 --seconds 0.1", ALGORITHMS),
    ("simulate --algo nope --workers 2", ALGORITHMS),
    ("validate --algo nope --threads 1", ALGORITHMS),
    ("predict --algo nope --threads 1", ALGORITHMS),
    ("run --algo lock --threads 1 --seconds 0.1 --stepsize nope", tuple(RULES)),
    ("simulate --algo lock --workers 2 --problem quadratic --stepsize nope", tuple(RULES)),
    ("predict --algo lock --threads 1 --stepsize nope", tuple(RULES)),
    ("stepsize nope --pmf poisson:2", tuple(RULES)),
    ("bound nonconvex --L 1 --sigma2 1 --f0 1 --tau-max 4 --epsilon 0.1 --rule nope", tuple(RULES)),
]


@pytest.mark.parametrize(("command", "choices"), REFUSALS)
def test_every_command_refuses_an_unknown_algorithm_or_rule_in_one_line(
    capsys, command: str, choices: tuple[str, ...]
) -> None:
    code, out, err = run_cli(capsys, *argv(command))
    error = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(error) == 1
    assert "'nope'" in error[0] and all(name in error[0] for name in choices)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("experiment", '[run]\nproblem = "digits-mlp"\nthreads = 1\neta = 0.05\n'
         '[grid]\nalgo = ["lock", "{x}"]\n[target]\ntest_accuracy = 0.9\n[budget]\nseconds = 1\n'),
        ("experiment", '[run]\nproblem = "digits-mlp"\nthreads = 1\neta = 0.05\nalgo = "lock"\n'
         '[grid]\nstepsize = ["{x}"]\n[target]\ntest_accuracy = 0.9\n[budget]\nseconds = 1\n'),
        ("sweep", '[fixed]\nworkers = 2\n[grid]\nalgo = ["lock", "{x}"]\n'),
    ],
)  # fmt: skip
def test_files_naming_an_unknown_algorithm_or_rule_are_refused_before_any_run(
    capsys, tmp_path: Path, kind: str, text: str
) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(text.replace("{x}", "nope"))
    code, _, err = run_cli(capsys, kind, str(spec), "--out", str(tmp_path / "out"))
    error = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(error) == 1 and "'nope'" in error[0] and "must be one of" in error[0]
    assert not (tmp_path / "out").exists()  # refused before anything was run or written
