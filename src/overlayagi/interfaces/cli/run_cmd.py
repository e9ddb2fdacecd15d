"""``overlay run FRAME INPUT``: run a frame, stream its answer, show its trace."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from overlayagi.interfaces.cli.engine_setup import ready_llm
from overlayagi.interfaces.cli.render import err, out, state
from overlayagi.interfaces.cli.trace_view import render_tree
from overlayagi.mind.events import JsonlSink
from overlayagi.mind.runner import RunResult


def read_input(text: str) -> str:
    """``-`` reads stdin, ``@path`` reads a file, anything else is the text itself."""
    if text == "-":
        return sys.stdin.read().strip()
    if text.startswith("@") and len(text) > 1:
        path = Path(text[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="INPUT") from exc
    return text


def execute(
    frame: str,
    text: str,
    *,
    goal: str | None = None,
    model: str | None = None,
    seed: int | None = None,
    events: Path | None = None,
    stream: bool = True,
) -> tuple[RunResult, bool]:
    """Run ``frame``; returns the result and whether any answer text was streamed."""
    ws = state.workspace()
    frame, frames = ws.frame_library().pinned(frame)
    frames.get_frame(frame)  # a bad frame fails before the model loads
    ready_llm(model)
    runner = ws.runner(model, seed=seed)
    sink = JsonlSink(events) if events else None
    streamed: list[str] = []

    def on_delta(delta: str) -> None:
        streamed.append(delta)
        sys.stdout.write(delta)
        sys.stdout.flush()

    try:
        result = asyncio.run(
            runner.run(
                frame,
                text,
                goal=goal,
                sink=sink,
                on_delta=on_delta if stream else None,
                frames=frames,
            )
        )
    finally:
        if sink is not None:
            sink.close()
    return result, bool("".join(streamed).strip())


def finish(result: RunResult, streamed: bool) -> None:
    if streamed:
        sys.stdout.write("\n")
    elif result.output:
        out.print(result.output, markup=False)
    if result.status != "ok":
        colour = "yellow" if result.status == "stopped" else "red"
        err.print(f"[{colour}]{result.status}:[/] {result.reason}", markup=True)


def run(
    frame: Annotated[
        str,
        typer.Argument(help="Frame id (`overlay frames list`), or frame://ID@VERSION."),
    ],
    text: Annotated[
        str, typer.Argument(metavar="INPUT", help="The input; '-' reads stdin, '@FILE' a file.")
    ],
    goal: Annotated[
        str | None, typer.Option(help="A goal or question about the input (e.g. for long texts).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name (default: engine.model).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed for every call.")] = None,
    trace: Annotated[
        bool, typer.Option("--trace", help="Print the phase tree with timings and tokens.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the whole result and trace as JSON.")
    ] = False,
    events: Annotated[
        Path | None, typer.Option(help="Append every event to this JSONL file.")
    ] = None,
) -> None:
    """Run a frame on an input: stream the answer; --trace shows how it was reached."""
    text = read_input(text)
    if not text:
        raise typer.BadParameter("the input is empty", param_hint="INPUT")
    result, streamed = execute(
        frame, text, goal=goal, model=model, seed=seed, events=events, stream=not json_out
    )
    if json_out:
        out.print_json(result.model_dump_json(by_alias=True))
    else:
        finish(result, streamed)
        if trace and result.trace is not None:
            out.print(render_tree(result.trace))
    if result.status == "error":
        raise typer.Exit(1)
