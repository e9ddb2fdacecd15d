"""``overlay frames …``: list, show, validate, and the git history of frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from overlayagi.frames.errors import FrameError
from overlayagi.frames.versions import parse_ref
from overlayagi.interfaces.cli.render import err, out, state

app = typer.Typer(help="Frames: ways of thinking, as versioned YAML files.", no_args_is_help=True)


@app.command("list")
def list_frames() -> None:
    """Every frame this workspace can run (its own first, then built-ins), and broken ones."""
    frames = state.workspace().frame_library().refresh()
    table = Table(box=None, pad_edge=False)
    for col in ("frame", "version", "source", "phases", "cost"):
        table.add_column(col, no_wrap=True)
    table.add_column("description")
    for fid in sorted(frames):
        f = frames[fid]
        table.add_row(
            fid,
            f.frame.version,
            f.source,
            str(len(f.frame.phases)),
            f.frame.cost or "",
            f.frame.description,
        )
    for fid, issues in sorted(frames.errors.items()):
        table.add_row(f"[red]{fid}[/]", "-", "invalid", "-", "", escape(str(issues[0])))
    out.print(table)


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="ID, or frame://ID@VERSION for a past version.")],
    resolved: Annotated[
        bool,
        typer.Option("--resolved", help="Print the validated frame (extends applied) as JSON."),
    ] = False,
) -> None:
    """Print a frame's YAML (current, or an exact past version from history)."""
    ws = state.workspace()
    frame_id, version = parse_ref(ref)
    if version is not None:
        text = ws.frame_repo().read(frame_id, version).content.decode()
        out.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
        return
    loaded = ws.frame_library().get(frame_id)
    if resolved:
        out.print_json(
            json.dumps(loaded.frame.model_dump(mode="json", by_alias=True, exclude_none=True))
        )
        return
    err.print(f"[dim]{loaded.path} · {loaded.source} · sha256 {loaded.sha256[:12]}…[/]")
    out.print(Syntax(loaded.text, "yaml", theme="ansi_dark", background_color="default"))


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Frame files (default: every frame in the workspace)."),
    ] = None,
) -> None:
    """Check frames: YAML, fields, transitions, roles, templates, extends and call cycles."""
    library = state.workspace().frame_library()
    if paths:
        results = {str(p): issues for p, issues in library.validate(paths).items()}
    else:
        snapshot = library.refresh()
        results = {fid: [] for fid in snapshot}
        results.update(snapshot.errors)
    bad = 0
    for name, issues in sorted(results.items()):
        if issues:
            bad += 1
            for issue in issues:
                err.print(f"[red]✗[/] {escape(str(issue))}")
        else:
            out.print(f"[green]✓[/] {name}")
    if bad:
        err.print(f"{bad} of {len(results)} invalid")
        raise typer.Exit(2)


@app.command()
def history(frame_id: Annotated[str, typer.Argument(help="Frame id.")]) -> None:
    """Every committed version of a frame, newest first."""
    versions = state.workspace().frame_repo().history(frame_id)
    if not versions:
        err.print(f"no history for '{frame_id}' (built-in frames not copied here have none)")
        raise typer.Exit(1)
    table = Table(box=None, pad_edge=False)
    for col in ("version", "commit", "date", "message"):
        table.add_column(col)
    for v in versions:
        table.add_row(
            v.version or "?", v.commit[:10], v.time.strftime("%Y-%m-%d %H:%M:%S"), escape(v.message)
        )
    out.print(table)


@app.command()
def diff(
    frame_id: Annotated[str, typer.Argument(help="Frame id.")],
    v1: Annotated[str, typer.Argument(help="Older version.")],
    v2: Annotated[str, typer.Argument(help="Newer version.")],
) -> None:
    """Unified diff between two committed versions of a frame."""
    text = state.workspace().frame_repo().diff(frame_id, v1, v2)
    if not text:
        out.print("(no difference)")
        return
    out.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))


@app.command()
def rollback(
    frame_id: Annotated[str, typer.Argument(help="Frame id.")],
    version: Annotated[str, typer.Argument(help="The version to restore.")],
) -> None:
    """Restore a past version as a new commit (history is never rewritten)."""
    ws = state.workspace()
    sha = ws.frame_repo().rollback(frame_id, version)
    snapshot = ws.frame_library().refresh()
    if frame_id in snapshot.errors:
        raise FrameError(
            snapshot.errors[frame_id], fix="the restored version does not validate now"
        )
    out.print(f"{frame_id} restored to {version} (commit {sha[:10]})")
