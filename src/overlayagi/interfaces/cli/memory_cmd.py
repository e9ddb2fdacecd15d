"""``overlay memory …``: insights carried across sessions, the portable context map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from overlayagi.interfaces.cli.render import err, out, state
from overlayagi.memory import context_map
from overlayagi.memory.errors import NotFoundError
from overlayagi.memory.records import Insight

app = typer.Typer(
    help="Insights and the context map (export, import, snapshot).", no_args_is_help=True
)


def _insight(key: str) -> Insight:
    found = state.workspace().store().get_insight(key)
    if found is None:
        raise NotFoundError(f"no insight '{key}'", fix="see `overlay memory insights`")
    return found


@app.command()
def insights(
    query: Annotated[str | None, typer.Argument(help="Only those relevant to this.")] = None,
) -> None:
    """What the twin remembers: key, kind, confidence, pinned, text, source messages."""
    ws = state.workspace()
    items = ws.insights().relevant(query) if query else ws.store().list_insights()
    table = Table(box=None, pad_edge=False)
    for col in ("key", "kind", "conf", "pin", "text", "sources"):
        table.add_column(col, no_wrap=col not in ("text",))
    for i in items:
        table.add_row(
            i.key,
            i.kind,
            f"{i.confidence:.2f}",
            "📌" if i.pinned else "",
            escape(i.text),
            ",".join(map(str, i.sources)),
        )
    out.print(table)


@app.command()
def pin(key: str, off: Annotated[bool, typer.Option("--off", help="Unpin.")] = False) -> None:
    """Pin an insight: it is in every prompt, whatever the topic."""
    item = _insight(key)
    item.pinned = not off
    state.workspace().store().upsert_insight(item)
    out.print(f"{key} {'unpinned' if off else 'pinned'}")


@app.command()
def forget(key: str) -> None:
    """Delete an insight."""
    _insight(key)
    state.workspace().store().delete_insight(key)
    out.print(f"forgot {key}")


@app.command()
def edit(key: str, text: Annotated[str, typer.Argument(help="The new text.")]) -> None:
    """Replace an insight's text (it is re-embedded)."""
    item = _insight(key)
    item.text = text
    item.confidence = 1.0
    state.workspace().insights().merge([item])
    out.print(f"{key} updated")


@app.command("export")
def export_map(
    file: Annotated[Path, typer.Argument(help="The JSON file to write.")],
    messages: Annotated[
        bool, typer.Option(help="Include every message, not only summaries.")
    ] = False,
) -> None:
    """Write the context map: insights and session summaries, portable to another instance."""
    data = context_map.build(state.workspace().store(), messages=messages)
    file.write_text(context_map.dump(data), encoding="utf-8")
    out.print(f"{len(data.insights)} insights, {len(data.sessions)} sessions → {file}")


@app.command("import")
def import_map(
    file: Annotated[Path, typer.Argument(help="A file from `overlay memory export`.")],
) -> None:
    """Merge a context map into this workspace (insights by key or meaning, sessions by name)."""
    ws = state.workspace()
    data = context_map.read(file)
    counts = context_map.import_map(ws.store(), ws.insights(), data)
    out.print(
        f"imported {counts['insights']} insights, {counts['sessions']} sessions, "
        f"{counts['messages']} messages"
    )


@app.command()
def snapshot() -> None:
    """Commit insights, session summaries and overlay.lock to the workspace's memory git repo."""
    ws = state.workspace()
    sha = context_map.snapshot(ws.store(), ws.root / "memory-snapshots", ws.root / "overlay.lock")
    if sha is None:
        err.print("nothing changed since the last snapshot")
    else:
        out.print(f"snapshot {sha[:10]} in {ws.root / 'memory-snapshots'}")
