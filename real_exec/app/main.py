"""The ``asgd`` command: a click group that imports a command's module only when it runs.

Every command module only parses options, calls the libraries and prints; the table of
commands is :data:`real_exec.app.commands.COMMANDS`.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from real_exec.app.commands import COMMANDS
from theory.version import __version__

__all__ = ["cli", "main"]


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; ``--help`` reads the table."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"real_exec.app.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asgd")
@click.option("--offline", is_flag=True, help="Never fetch data sets (as ASGD_OFFLINE=1).")
def cli(offline: bool) -> None:
    """Asynchronous parallel SGD: staleness models, step sizes, bounds, simulation, real runs."""
    if offline:
        os.environ["ASGD_OFFLINE"] = "1"


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input prints one line on stderr and exits with status 2."""
    offline = os.environ.get("ASGD_OFFLINE")  # --offline holds for this call only
    try:
        result = cli.main(args=argv, prog_name="asgd", standalone_mode=False)
    except click.ClickException as exc:
        click.echo(f"asgd: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("asgd: interrupted", err=True)
        return 130
    finally:
        if offline is None:
            os.environ.pop("ASGD_OFFLINE", None)
        else:
            os.environ["ASGD_OFFLINE"] = offline
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
