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
from overlayagi.mind.events import FanoutSink, JsonlSink
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
    resume: str | None = None,
) -> tuple[RunResult, bool]:
    """Run ``frame`` (or resume a run); every event goes to the ledger. Returns the result and
    whether any answer text was streamed."""
    ws = state.workspace()
    library = ws.frame_library()
    history = None
    if resume is not None:
        from overlayagi.interfaces.cli.ledger_cmd import events_of, resolve_run

        run_id = resolve_run(resume)
        history = events_of(run_id)
        started = next(e for e in history if e.type == "run_started" and e.run_id == run_id)
        frame = f"frame://{started.frame}"
    frame, frames = library.pinned(frame)
    frames.get_frame(frame)  # a bad frame fails before the model loads
    ready_llm(model)
    runner = ws.runner(model, seed=seed)
    jsonl = JsonlSink(events) if events else None
    sink = FanoutSink(ws.ledger_sink(), jsonl) if jsonl else ws.ledger_sink()
    streamed: list[str] = []

    def on_delta(delta: str) -> None:
        streamed.append(delta)
        sys.stdout.write(delta)
        sys.stdout.flush()

    delta = on_delta if stream else None
    try:
        if history is not None:
            job = runner.resume(run_id, history, frames=frames, sink=sink, on_delta=delta)
        else:
            job = runner.run(frame, text, goal=goal, sink=sink, on_delta=delta, frames=frames)
        result = asyncio.run(job)
    finally:
        if jsonl is not None:
            jsonl.close()
    return result, bool("".join(streamed).strip())


def lookup_cache(frame: str, question: str, model: str | None) -> str | None:
    ws = state.workspace()
    fid, frames = ws.frame_library().pinned(frame)
    ref = frames.get_frame(fid).ref
    hit = ws.answer_cache().get(ref, model or ws.config.engine.model, question)
    if hit is None:
        return None
    entry, score = hit
    err.print(
        f"[dim](cached answer from {entry.question!r}, similarity {score:.3f}; "
        "run without --cache to recompute)[/]"
    )
    return entry.answer


def store_cache(frame_ref: str, question: str, model: str | None, answer: str) -> None:
    ws = state.workspace()
    ws.answer_cache().put(frame_ref, model or ws.config.engine.model, question, answer)


def remember(session: str, text: str, answer: str, run_id: str | None) -> None:
    """Record a question and its answer in a chat session."""
    from overlayagi.memory.sessions import SessionMemory

    ws = state.workspace()
    llm = ws.llm()
    info = ws.store().ensure_session(session)
    memory = SessionMemory(
        ws.store(),
        info,
        count_tokens=llm.count_tokens,
        context_size=llm.context_size,
        reply_tokens=ws.config.engine.max_tokens,
    )
    memory.add("user", text, run_id)
    memory.add("assistant", answer, run_id)


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
        str | None,
        typer.Argument(metavar="INPUT", help="The input; '-' reads stdin, '@FILE' a file."),
    ] = None,
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
        Path | None, typer.Option(help="Also append every event to this JSONL file.")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="FRAME is an interrupted run's id: continue it."),
    ] = False,
    session: Annotated[
        str | None, typer.Option(help="Record the input and answer in this chat session.")
    ] = None,
    cache: Annotated[
        bool, typer.Option("--cache", help="Reuse a cached answer to the same question.")
    ] = False,
) -> None:
    """Run a frame on an input: stream the answer; --trace shows how it was reached.

    Every step is recorded in the ledger (`overlay ledger list`); a run that was killed can be
    continued with `overlay run --resume RUN_ID`."""
    if resume:
        result, streamed = execute(
            "", "", model=model, events=events, resume=frame, stream=not json_out
        )
    else:
        text = read_input(text or "")
        if not text:
            raise typer.BadParameter("the input is empty", param_hint="INPUT")
        cached = lookup_cache(frame, text, model) if cache else None
        if cached is not None:
            out.print(cached, markup=False)
            if session:
                remember(session, text, cached, None)
            return
        from overlayagi.mind.tools.registry import CURRENT_SESSION

        CURRENT_SESSION.set(session)  # tools that write (vault.write) record the session
        result, streamed = execute(
            frame, text, goal=goal, model=model, seed=seed, events=events, stream=not json_out
        )
        if cache and result.status == "ok":
            store_cache(result.frame, text, model, result.output)
        if session:
            remember(session, text, result.output, result.run_id)
    if json_out:
        out.print_json(result.model_dump_json(by_alias=True))
    else:
        finish(result, streamed)
        if trace and result.trace is not None:
            out.print(render_tree(result.trace))
    if result.status == "error":
        raise typer.Exit(1)
