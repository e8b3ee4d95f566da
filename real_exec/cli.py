"""The ``asgd`` command: assembles every package's subcommands into one group."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import staleness_sim.cli
import theory.cli
from real_exec.run_cli import run_command
from real_exec.validate_cli import compare_command, validate_command
from real_exec.version import __version__

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asgd")
def cli() -> None:
    """Asynchronous parallel SGD: staleness models, step sizes, bounds, simulation, real runs."""


theory.cli.register(cli)
staleness_sim.cli.register(cli)
cli.add_command(run_command)
cli.add_command(validate_command)
cli.add_command(compare_command)


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("asgd-demo"),
    show_default=True,
    help="Directory for the report.",
)
@click.option("--quick", is_flag=True, help="A smaller, faster run.")
@theory.cli.cli_errors
def demo(out: Path, quick: bool) -> None:
    """Show the toolkit on its built-in default and write a report to --out."""
    from real_exec.demo import run_demo

    report = run_demo(out, quick=quick)
    click.echo(f"report written to {report}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input prints one line on stderr and exits with status 2."""
    try:
        result = cli.main(args=argv, prog_name="asgd", standalone_mode=False)
    except click.ClickException as exc:
        click.echo(f"asgd: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("asgd: interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
