"""``overlay profile lock | check``: pin and verify everything that decides how it thinks."""

from __future__ import annotations

import typer

from overlayagi.interfaces.cli.render import err, out, progress_bars, state

app = typer.Typer(
    help="The profile lock (overlay.lock): frames, model, embedder, versions.", no_args_is_help=True
)


@app.command()
def lock() -> None:
    """Write overlay.lock pinning every frame, the model file, embedder and versions."""
    from overlayagi import profile

    ws = state.workspace()
    with progress_bars() as bars:
        path = profile.write_lock(ws, bars)
    data = profile.read_lock(ws)
    out.print(f"wrote {path}: {len(data['frames'])} frames, model {data['model']['name']}")


@app.command()
def check() -> None:
    """List every drift from overlay.lock; exit 1 if there is any."""
    from overlayagi import profile

    ws = state.workspace()
    with progress_bars() as bars:
        drifts = profile.check(ws, bars)
    if not drifts:
        out.print("[green]profile matches overlay.lock[/]")
        return
    for drift in drifts:
        out.print(f"[yellow]drift[/] {drift}")
    err.print(f"{len(drifts)} difference(s) from overlay.lock")
    raise typer.Exit(1)
