"""``asgd profiles``: the hardware profiles that come with the toolkit, for ``--profile``."""

from __future__ import annotations

import click

from real_exec.app.options import cli_errors, emit, json_option
from staleness_sim.profile import load_profile, shipped_profiles

__all__ = ["profiles_command"]


@click.command("profiles")
@json_option
@cli_errors
def profiles_command(as_json: bool) -> None:
    """List the shipped hardware profiles (names for --profile), with their cores and description."""
    rows = []
    for name in shipped_profiles():
        p = load_profile(name)
        rows.append({"name": name, "cores": p.cores, "sockets": p.sockets, "description": p.description})
    lines = [f"{r['name']:16s} {r['cores'] or '-':>4} cores  {r['description']}" for r in rows]
    emit({"profiles": rows}, as_json, lines)
