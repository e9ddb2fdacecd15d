"""``overlay ask``: one question, one streamed answer."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import Annotated

import typer

from overlayagi.engine.protocols import LLM
from overlayagi.engine.types import Completion, Message
from overlayagi.interfaces.cli.engine_setup import ready_llm
from overlayagi.interfaces.cli.render import err, out, state


def build_messages(question: str, system: str | None) -> list[Message]:
    messages = [Message.system(system)] if system else []
    return [*messages, Message.user(question)]


async def stream_to_stdout(
    llm: LLM, messages: list[Message], params: Mapping[str, object], parts: list[str] | None = None
) -> Completion | None:
    """Write the answer to stdout as it streams; collect deltas into ``parts`` if given.

    Closes the stream however it ends (a Ctrl-C stops generation) and reports a fallback.
    """
    stream = llm.stream(messages, **params)  # type: ignore[arg-type]
    try:
        async for delta in stream:
            if parts is not None:
                parts.append(delta)
            sys.stdout.write(delta)
            sys.stdout.flush()
    finally:
        await stream.aclose()
    if stream.completion is not None:
        report_fallback(stream.completion)
    return stream.completion


def report_fallback(completion: Completion) -> None:
    if completion.attempts:
        failed = ", ".join(f"{a.model_id} ({a.error})" for a in completion.attempts)
        err.print(f"[yellow]served by {completion.model_id}[/] after: {failed}")


def ask(
    question: Annotated[str, typer.Argument(help="The question; '-' reads it from stdin.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name (default: engine.model).")
    ] = None,
    system: Annotated[str | None, typer.Option(help="A system prompt.")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the full Completion as JSON (no streaming).")
    ] = False,
    max_tokens: Annotated[int | None, typer.Option(help="Default: engine.max_tokens.")] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Default: engine.temperature; 0 = greedy.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed (default: engine.seed).")] = None,
    frame: Annotated[
        str | None,
        typer.Option("--frame", "-f", help="Think with this frame (see `overlay frames list`)."),
    ] = None,
) -> None:
    """Ask the model one question and stream the answer (through a frame with --frame)."""
    if question == "-":
        question = sys.stdin.read().strip()
    if not question:
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    if frame is not None:
        from overlayagi.interfaces.cli import run_cmd

        result, streamed = run_cmd.execute(
            frame, question, model=model, seed=seed, stream=not json_out
        )
        if json_out:
            out.print_json(result.model_dump_json(by_alias=True))
        else:
            run_cmd.finish(result, streamed)
        if result.status == "error":
            raise typer.Exit(1)
        return
    ws = state.workspace()
    engine = ws.config.engine
    llm = ready_llm(model)
    params = {
        "max_tokens": max_tokens or engine.max_tokens,
        "temperature": engine.temperature if temperature is None else temperature,
        "top_p": engine.top_p,
        "seed": engine.seed if seed is None else seed,
    }
    messages = build_messages(question, system)
    if json_out:
        completion = llm.chat(messages, **params)  # type: ignore[arg-type]
        out.print_json(completion.model_dump_json())
        report_fallback(completion)
    else:
        asyncio.run(stream_to_stdout(llm, messages, params))
        sys.stdout.write("\n")
