"""``overlay eval TASK --frame F …``: what each frame does to a model, on a benchmark."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
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

from overlayagi.evals.harness import EvalReport, EvalSpec, Evaluation
from overlayagi.evals.harness import Progress as EvalProgress
from overlayagi.evals.tasks import make_task
from overlayagi.interfaces.cli.engine_setup import ready_llm
from overlayagi.interfaces.cli.render import err, out, state

HELP = (
    "Run a benchmark through frames and compare them: accuracy with a 95 % interval, LLM "
    "calls, tokens and seconds per item.\n\n"
    "Every result (prediction, extracted answer, correctness, ledger run id) is stored under "
    "the workspace's evals/ folder; the same command again resumes where it stopped, and "
    "adding a --frame later measures only the new frame."
)
TASK_HELP = (
    "gsm8k (1,319 grade-school maths problems), mmlu (14,042 multiple-choice questions), "
    "humaneval (164 Python functions, run in the sandbox: pass@1) or vault_qa (questions over "
    "the indexed vault; --data questions.jsonl)."
)


def eval_command(
    task: Annotated[str, typer.Argument(help=TASK_HELP, show_default=False)],
    frame: Annotated[
        list[str] | None,
        typer.Option(
            "--frame",
            "-f",
            help="A frame to measure (repeat for several; ID or frame://ID@VERSION). "
            "Default: direct.",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name (default: the active one).")
    ] = None,
    offset: Annotated[int, typer.Option(min=0, help="Skip the first K items.")] = 0,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Measure N items (default: all).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed (same seed, same samples).")] = 0,
    data: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Read the items from this file (the task's own format) instead of the "
            "packaged data.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Print the table of what is already stored for these arguments; run nothing "
            "(an eval still running, or one stopped part-way).",
        ),
    ] = False,
) -> None:
    """Run a benchmark through frames and compare them side by side."""
    ws = state.workspace()
    chosen = make_task(task, vault=ws.vault)  # an unknown task is an error before any work
    spec = EvalSpec(
        task=task,
        frames=tuple(frame or ["direct"]),
        model=model or ws.config.engine.model,
        offset=offset,
        limit=limit,
        seed=seed,
        data=data,
    )
    evaluation = Evaluation(ws, spec, chosen)
    if report_only:
        report = evaluation.stored()
    else:
        ready_llm(model)  # catalog model files assembled and verified first, with progress
        report = _run_with_progress(evaluation)
    if as_json:
        out.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print_table(report)


def _run_with_progress(evaluation: Evaluation) -> EvalReport:
    bars = Progress(
        TextColumn("[bold]{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[accuracy]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )
    tasks: dict[str, TaskID] = {}

    def update(p: EvalProgress) -> None:
        if p.frame not in tasks:
            tasks[p.frame] = bars.add_task(p.frame, total=p.total, completed=p.done, accuracy="")
        accuracy = f"acc {p.correct / p.done:.0%}" if p.done else ""
        bars.update(tasks[p.frame], completed=p.done, accuracy=accuracy)

    with bars:
        try:
            return asyncio.run(evaluation.run(update))
        except KeyboardInterrupt:
            err.print(
                f"[yellow]interrupted[/]: results so far are in {evaluation.folder}; "
                "run the same command again to resume"
            )
            raise typer.Exit(130) from None


def _print_table(report: EvalReport) -> None:
    spec = report.spec
    counts = {f.items for f in report.frames}
    if not counts or max(counts) == 0:
        window = "no items"
    elif len(counts) == 1:
        window = f"items {spec.offset}–{spec.offset + max(counts) - 1}"
    else:  # stopped part-way, or a frame added later that has not caught up
        window = f"items from {spec.offset}, {min(counts)}–{max(counts)} per frame"
    data = f" · {spec.data.name}" if spec.data else ""
    table = Table(
        title=f"{spec.task}{data} · {spec.model} · {window} · seed {spec.seed}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("frame", "items", "accuracy", "95 % CI", "calls", "tokens", "s/item"):
        if column == "frame":  # the one column that folds when the terminal is narrow
            table.add_column(column, overflow="fold", ratio=1)
        else:
            table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    for f in report.frames:
        errors = f" [red]({f.errors} errors)[/]" if f.errors else ""
        table.add_row(
            f.frame,
            str(f.items),
            f"{f.accuracy:.1%}{errors}",
            f"{f.ci_low:.1%}–{f.ci_high:.1%}",
            f"{f.llm_calls_per_item:.1f}",
            f"{f.tokens_per_item:.0f}",
            f"{f.seconds_per_item:.2f}",
        )
    out.print(table)
    for f in report.frames:
        v = f.versus
        if v is None:
            continue
        if not v.items:
            out.print(f"{f.frame} vs {v.frame}: no items in common yet")
            continue
        out.print(
            f"{f.frame} vs {v.frame} on the same {v.items} items: "
            f"[bold]{v.delta * 100:+.1f}[/] points "
            f"(95 % CI {v.ci_low * 100:+.1f} to {v.ci_high * 100:+.1f}; "
            f"right only here {v.wins}, only there {v.losses})"
        )
    out.print(
        f"[dim]calls and tokens per item · results: {report.folder}"
        + (f" · {report.seconds:.1f} s this run" if report.seconds else "")
        + "[/]"
    )
