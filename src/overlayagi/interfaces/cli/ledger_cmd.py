"""``overlay ledger …``: the permanent, tamper-evident record of every run."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from overlayagi.interfaces.cli.render import err, out, state
from overlayagi.interfaces.cli.trace_view import render_tree
from overlayagi.memory.errors import NotFoundError
from overlayagi.memory.ledger import export_jsonl, verify
from overlayagi.mind.events import Event
from overlayagi.mind.history import run_events
from overlayagi.mind.trace import build_trace

app = typer.Typer(
    help="The reasoning ledger: every step of every run, hash-chained.", no_args_is_help=True
)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def resolve_run(run: str) -> str:
    found = state.workspace().store().run(run)
    if found is None:
        raise NotFoundError(f"no run '{run}' in the ledger", fix="see `overlay ledger list`")
    return found.run_id


def events_of(run_id: str) -> list[Event]:
    """The run's events and those of every sub-run it started, in ledger order."""
    return run_events(state.workspace().store(), run_id)


@app.command("list")
def list_runs(limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20) -> None:
    """Recent runs: id, frame, status (interrupted = never finished), start, input."""
    table = Table(box=None, pad_edge=False)
    for col in ("run", "frame", "status", "started", "input"):
        table.add_column(col, no_wrap=col != "input")
    for run in state.workspace().store().runs(limit):
        if run.parent_run_id:
            continue
        status = run.shown_status
        colour = {"ok": "green", "interrupted": "yellow", "error": "red"}.get(status, "white")
        table.add_row(
            run.run_id,
            run.frame,
            f"[{colour}]{status}[/]",
            _when(run.started),
            escape(run.input[:60]),
        )
    out.print(table)


@app.command()
def show(run: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")]) -> None:
    """Every record of a run, in order."""
    run_id = resolve_run(run)
    for record in state.workspace().store().ledger(run_id):
        out.print(
            f"[dim]#{record.id} seq {record.seq} {_when(record.ts)}[/] [bold]{record.type}[/] "
            f"{escape(record.payload[:300])}"
        )


@app.command()
def tree(run: Annotated[str, typer.Argument(help="Run id.")]) -> None:
    """The run's phase tree, rebuilt from the ledger."""
    run_id = resolve_run(run)
    out.print(render_tree(build_trace(events_of(run_id), run_id)))


@app.command("verify")
def verify_cmd(
    run: Annotated[str | None, typer.Argument(help="One run (default: all).")] = None,
) -> None:
    """Check the hash chain; names the first edited, deleted, inserted or reordered record."""
    store = state.workspace().store()
    verdict = verify(store, resolve_run(run) if run else None)
    if verdict.ok:
        out.print(f"[green]{verdict}[/]")
        return
    err.print(f"[red]{escape(str(verdict))}[/]")
    raise typer.Exit(1)


@app.command()
def export(
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One JSON object per line (the only format).")
    ] = True,
    run: Annotated[str | None, typer.Option(help="Only this run.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """Export records with their hashes as JSON lines."""
    store = state.workspace().store()
    lines = export_jsonl(store, resolve_run(run) if run else None)
    if output is None:
        for line in lines:
            sys.stdout.write(line + "\n")
        return
    count = 0
    with output.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
            count += 1
    err.print(f"{count} records → {output}")


@app.command()
def replay(
    run: Annotated[str, typer.Argument(help="Run id.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Replay on another model.")
    ] = None,
) -> None:
    """Re-run a run's model calls with the same inputs and seeds; report where outputs diverge."""
    from overlayagi.interfaces.cli.engine_setup import ready_llm
    from overlayagi.mind.replay import replay_calls

    run_id = resolve_run(run)
    llm = ready_llm(model)
    report = asyncio.run(replay_calls(llm, events_of(run_id)))
    table = Table(box=None, pad_edge=False)
    for col in ("#", "phase", "purpose", "seed", "result"):
        table.add_column(col)
    for item in report:
        result = "[green]same[/]" if item.same else f"[yellow]diverged[/] {escape(item.detail)}"
        table.add_row(str(item.index), item.phase, item.purpose, str(item.seed), result)
    out.print(table)
    diverged = sum(not r.same for r in report)
    out.print(f"{len(report)} calls replayed, {diverged} diverged")
    if diverged:
        raise typer.Exit(1)
