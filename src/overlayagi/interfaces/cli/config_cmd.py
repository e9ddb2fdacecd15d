"""``overlay config``: the effective configuration and where each value came from."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from overlayagi.config import flatten
from overlayagi.interfaces.cli.render import out, state

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@app.command()
def show(
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print the effective config, each value with its source (default, file:line, env)."""
    ws = state.workspace()
    loaded = ws.loaded
    values = flatten(loaded.config.model_dump(mode="json"))
    rows = [(key, value, loaded.source_of(key)) for key, value in values.items()]
    if json_out:
        out.print_json(json.dumps({k: {"value": v, "source": s} for k, v, s in rows}))
        return
    table = Table(title=f"config · {loaded.path}", title_justify="left")
    table.add_column("key")
    table.add_column("value")
    table.add_column("source", style="dim")
    for key, value, source in rows:
        table.add_row(key, json.dumps(value, ensure_ascii=False), source)
    out.print(table)


@app.command()
def path() -> None:
    """Print the path of the workspace's overlay.toml."""
    out.print(str(state.workspace().config_path))
