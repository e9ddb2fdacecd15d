"""``overlay sessions …``: conversations that survive restarts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from overlayagi.interfaces.cli.render import err, out, state
from overlayagi.memory.errors import NotFoundError
from overlayagi.memory.records import SessionInfo

app = typer.Typer(help="Chat sessions: list, show, delete, export.", no_args_is_help=True)


def _session(name: str) -> SessionInfo:
    found = state.workspace().store().get_session(name)
    if found is None:
        names = ", ".join(s.name for s in state.workspace().store().list_sessions()[:10])
        raise NotFoundError(f"no session named '{name}'", fix=f"sessions: {names or 'none yet'}")
    return found


@app.command("list")
def list_sessions() -> None:
    """Every session, most recently used first."""
    table = Table(box=None, pad_edge=False)
    for col in ("session", "messages", "summaries", "updated"):
        table.add_column(col)
    store = state.workspace().store()
    for s in store.list_sessions():
        updated = datetime.fromtimestamp(s.updated).strftime("%Y-%m-%d %H:%M")
        table.add_row(s.name, str(s.messages), str(len(store.summaries(s.id))), updated)
    out.print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Session name.")],
    search: Annotated[str | None, typer.Option(help="Only turns containing this text.")] = None,
) -> None:
    """The rolling summaries and every turn (collapsed turns are kept and shown too)."""
    store = state.workspace().store()
    info = _session(name)
    for summary in store.summaries(info.id):
        out.print(
            f"[bold]summary of messages {summary.first_message_id}–{summary.last_message_id}[/]\n"
            f"{escape(summary.text)}\n"
        )
    latest = store.latest_summary(info.id)
    messages = store.search_messages(info.id, search, 1000) if search else store.messages(info.id)
    for m in messages:
        folded = " [dim](collapsed)[/]" if latest and m.id <= latest.last_message_id else ""
        out.print(f"[dim]#{m.id}[/] [bold]{m.role}[/]{folded}: {escape(m.content)}")


@app.command()
def delete(name: Annotated[str, typer.Argument(help="Session name.")]) -> None:
    """Delete a session with its messages and summaries."""
    _session(name)
    state.workspace().store().delete_session(name)
    out.print(f"deleted session {name}")


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="Session name.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown or jsonl.")] = "markdown",
) -> None:
    """Export a session as Markdown or JSON lines."""
    store = state.workspace().store()
    info = _session(name)
    messages = store.messages(info.id)
    if fmt == "jsonl":
        text = (
            "\n".join(
                json.dumps(
                    {"id": m.id, "role": m.role, "content": m.content, "created": m.created},
                    ensure_ascii=False,
                )
                for m in messages
            )
            + "\n"
        )
    elif fmt == "markdown":
        lines = [f"# Session {name}", ""]
        for m in messages:
            lines += [
                f"**{m.role}** ({datetime.fromtimestamp(m.created):%Y-%m-%d %H:%M}):",
                "",
                m.content,
                "",
            ]
        text = "\n".join(lines)
    else:
        raise typer.BadParameter("use markdown or jsonl", param_hint="--format")
    if output is None:
        out.print(text, markup=False, highlight=False, end="")
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"{len(messages)} messages → {output}")
