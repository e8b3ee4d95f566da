"""The layout's promises, checked on the source: no import cycles, imports flow
theory <- staleness_sim <- real_exec, only the application sees click, and the command
table matches the commands."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "staleness_sim", "real_exec")
LAYER = {"theory": 0, "staleness_sim": 1, "real_exec": 2}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules imported anywhere in ``path`` (top level, functions, TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from pkg.mod import x": x may itself be a module
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in modules}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_another_that_imports_it_back() -> None:
    graph = _graph()
    assert len(graph) > 50  # every module was read
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_imports_flow_from_theory_to_staleness_sim_to_real_exec() -> None:
    upward = [
        f"{mod} imports {dep}"
        for mod, deps in _graph().items()
        for dep in deps
        if LAYER[dep.split(".")[0]] > LAYER[mod.split(".")[0]]
    ]
    assert upward == []


def _imports_of(prefix: str, allowed: Callable[[str], bool]) -> list[str]:
    """The imports of the modules under ``prefix`` that ``allowed`` refuses."""
    return [
        f"{mod} imports {dep}"
        for mod, deps in _graph().items()
        if mod.startswith(prefix)
        for dep in deps
        if not allowed(dep)
    ]


def test_the_executor_imports_only_theory_and_itself() -> None:
    # Real execution (threads, algorithms, models, data, kernels, recording) stands on theory
    # alone; calibration, validation, prediction and experiments build on it (real_exec.study).
    assert (
        _imports_of("real_exec.executor", lambda dep: dep.startswith(("theory", "real_exec.executor"))) == []
    )


def test_the_study_never_imports_the_application() -> None:
    assert (
        _imports_of("real_exec.study", lambda dep: not dep.startswith("real_exec.app") and dep != "real_exec")
        == []
    )


def test_real_exec_is_the_executor_the_study_and_the_application() -> None:
    top = {p.name for p in (ROOT / "real_exec").iterdir() if not p.name.startswith((".", "__"))}
    assert top == {"executor", "study", "app"}, top


def test_only_the_application_imports_click() -> None:
    users = [
        name
        for name, path in _modules().items()
        if not name.startswith("real_exec.app")
        and any(
            (isinstance(n, ast.Import) and any(a.name == "click" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and n.module == "click")
            for n in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert users == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_and_all_is_sorted(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__) and module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_the_command_table_names_real_commands() -> None:
    from real_exec.app.commands import COMMANDS
    from real_exec.app.main import cli

    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name
    assert cli.get_command(ctx, "nope") is None


def _mapped_files() -> set[str]:
    """The module files docs/architecture.md's package map names, as paths."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("## The package map", 1)[1].split("```", 2)[1]
    folders: list[tuple[int, str]] = []  # (indent, folder) of the enclosing folders
    found: set[str] = set()
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        first = line.split()[0]
        while folders and folders[-1][0] >= indent:
            folders.pop()
        if first.endswith("/"):
            folders.append((indent, first))
            continue
        prefix = "".join(f for _, f in folders)
        names = [w.strip(",") for w in line.split() if w.strip(",").endswith(".py")]
        found |= {prefix + n for n in names}
    return found


def test_the_architecture_doc_maps_every_module_and_only_existing_ones() -> None:
    mapped = _mapped_files()
    for path in mapped:
        assert (ROOT / path).is_file(), f"docs/architecture.md names {path}, which does not exist"
    skip = {"__init__.py", "__main__.py"}
    listed_dirs = ("staleness_sim/mechanisms/", "real_exec/executor/algorithms/")  # named as folders
    actual = {
        str(p.relative_to(ROOT))
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if p.name not in skip and not str(p.relative_to(ROOT)).startswith(listed_dirs)
    }
    assert actual - mapped == set(), "modules missing from docs/architecture.md"


def test_every_option_of_every_command_says_what_it_does() -> None:
    from real_exec.app.commands import COMMANDS
    from real_exec.app.main import cli

    ctx = click.Context(cli)
    silent = []

    def walk(name: str, command: click.Command) -> None:
        if isinstance(command, click.Group):
            for sub, c in command.commands.items():
                walk(f"{name} {sub}", c)
            return
        silent.extend(
            f"{name} {p.opts[0]}" for p in command.params if isinstance(p, click.Option) and not p.help
        )

    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        walk(name, command)
    assert silent == []
