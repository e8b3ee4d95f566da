"""``asgd data``: which data sets are here and where, and fetching the standard ones."""

from __future__ import annotations

from typing import Any

import click

from real_exec.app.options import cli_errors, emit, json_option
from real_exec.executor.data.datasets import DATASETS, find_files, search_dirs
from real_exec.executor.data.errors import DataError
from real_exec.executor.data.fetch import REMOTE, cache_dir, fetch, offline

__all__ = ["data_group"]


@click.group("data")
def data_group() -> None:
    """The data sets: list where they are, fetch the standard ones into the cache."""


def _present(name: str) -> dict[str, Any]:
    if name not in REMOTE:
        return {"name": name, "present": True, "where": "built in"}
    try:
        files = find_files(name, fetch_missing=False)
    except DataError:
        return {
            "name": name,
            "present": False,
            "where": None,
            "looked_in": [str(d) for d in search_dirs(name)],
        }
    return {"name": name, "present": True, "where": str(files[0].parent)}


@data_group.command("list")
@json_option
@cli_errors
def list_command(as_json: bool) -> None:
    """Which data sets are here, and where (nothing is fetched)."""
    rows = [_present(name) for name in DATASETS]
    lines = [f"cache: {cache_dir()}{' (fetching off: ASGD_OFFLINE)' if offline() else ''}"]
    for r in rows:
        where = r["where"] if r["present"] else f"missing (asgd data fetch {r['name']})"
        lines.append(f"  {r['name']:14s} {where}")
    emit({"cache": str(cache_dir()), "offline": offline(), "datasets": rows}, as_json, lines)


@data_group.command("fetch")
@click.argument("names", nargs=-1, required=True, type=click.Choice(list(REMOTE)), metavar="NAME...")
@click.option("--base-url", default=None, help="Fetch from this mirror instead of the official source.")
@json_option
@cli_errors
def fetch_command(names: tuple[str, ...], base_url: str | None, as_json: bool) -> None:
    """Fetch the data sets NAME (fashion-mnist, mnist, cifar10) into the cache, each file
    verified by its SHA-256; those already here are left as they are."""
    if offline():
        raise click.UsageError("fetching is off (--offline or ASGD_OFFLINE=1)")
    done: dict[str, str] = {}
    lines = []
    for name in names:
        here = _present(name)
        if here["present"]:
            done[name] = here["where"]
            lines.append(f"{name}: already in {here['where']}")
            continue
        folder = fetch(name, base_url=base_url)
        done[name] = str(folder)
        lines.append(f"{name}: fetched into {folder}")
    emit({"fetched": done}, as_json, lines)
