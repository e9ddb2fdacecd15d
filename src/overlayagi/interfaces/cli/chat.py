"""``overlay chat``: an interactive conversation with streaming and line history.

Every turn is stored in a session (``--session NAME`` continues one after a restart). Each prompt
is assembled from the persona, relevant insights, the rolling summary and recent turns; when
the turns outgrow their share of the context the oldest are summarised (nothing is deleted).
Insights are extracted every few turns and when the chat ends. Ctrl-C while the model writes
stops that answer and keeps the REPL; Ctrl-C at the prompt clears the line; Ctrl-D or /exit
leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from overlayagi.engine.errors import EngineError
from overlayagi.engine.protocols import LLM
from overlayagi.engine.types import Message
from overlayagi.errors import OverlayError
from overlayagi.interfaces.cli.ask import stream_to_stdout
from overlayagi.interfaces.cli.engine_setup import ready_llm
from overlayagi.interfaces.cli.render import err, out, print_error, state
from overlayagi.memory.sessions import SessionMemory

HELP = """\
commands:
  /help          this help
  /model         show the active model;  /model NAME  switch to another (see `overlay models`)
  /system TEXT   set the system prompt (empty TEXT clears it)
  /clear         start a new session (this one stays: `overlay sessions`)
  /exit          leave (also Ctrl-D)
Ctrl-C stops the answer being written."""


def _enable_line_history(history_file: Path) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(history_file)
    readline.set_history_length(1000)
    import atexit

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(history_file)

    atexit.register(save)


class Turns:
    """The chat's memory: a persistent session, insights, collapse when history grows."""

    def __init__(self, session: str, llm: LLM, reply_tokens: int, system: str | None) -> None:
        self.ws = state.workspace()
        self.store = self.ws.store()
        self.open(session, llm, reply_tokens, system)

    def open(self, session: str, llm: LLM, reply_tokens: int, system: str | None) -> None:
        ws = self.ws
        self.info = self.store.ensure_session(session)
        self.memory = SessionMemory(
            self.store,
            self.info,
            count_tokens=llm.count_tokens,
            context_size=llm.context_size,
            reply_tokens=reply_tokens,
            persona=system,
            history_share=ws.config.memory.history_share,
        )
        self.turns_since_insights = 0
        last = self.store.recent_messages(self.info.id, 1)
        self.extracted_after = last[0].id if last else 0

    def prompt(self, text: str) -> list[Message]:
        self.memory.add("user", text)
        relevant = self.ws.insights().relevant(text)
        context = self.memory.build(relevant)
        if context.left_out:
            err.print(f"[dim]({context.left_out} older messages left out to fit the context)[/]")
        return context.messages

    def answered(self, text: str, llm: LLM) -> None:
        self.memory.add("assistant", text)
        self.turns_since_insights += 1
        if self.memory.needs_collapse():
            err.print("[dim](summarising older turns into the rolling summary…)[/]")
            summary = asyncio.run(self.memory.collapse(self.ws.summarizer()))
            if summary:
                err.print(
                    f"[dim](messages {summary.first_message_id}–{summary.last_message_id} "
                    "summarised; they stay in the session)[/]"
                )
        every = self.ws.config.memory.insight_every
        if every and self.turns_since_insights >= every:
            self.remember(llm)

    def remember(self, llm: LLM) -> None:
        """Extract insights from the turns since the last extraction and merge them."""
        pending = self.store.messages(self.info.id, after_id=self.extracted_after)
        if not any(m.role == "user" for m in pending):
            return
        err.print("[dim](remembering…)[/]")
        try:
            found = asyncio.run(self.ws.insights().extract(llm, pending))
        except EngineError as exc:
            err.print(f"[yellow]could not extract insights: {exc.what}[/]")
            return
        for result in self.ws.insights().merge(found):
            err.print(f"[dim]  {result.action}: {result.insight.key} — {result.insight.text}[/]")
        self.extracted_after = pending[-1].id
        self.turns_since_insights = 0


def chat(
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name (default: engine.model).")
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(help="Continue (or start) this named session; default: a new one."),
    ] = None,
    system: Annotated[str | None, typer.Option(help="A system prompt (persona).")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Default: engine.max_tokens.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Default: engine.temperature.")] = None,
) -> None:
    """Talk with the model: a streaming REPL whose sessions, summaries and insights persist."""
    ws = state.workspace()
    engine = ws.config.engine
    current = model or engine.model
    llm = ready_llm(current)
    reply_tokens = max_tokens or engine.max_tokens
    name = session or time.strftime("chat-%Y%m%d-%H%M%S")
    turns = Turns(name, llm, reply_tokens, system)
    params = {
        "max_tokens": reply_tokens,
        "temperature": engine.temperature if temperature is None else temperature,
        "top_p": engine.top_p,
        "seed": engine.seed,
    }
    _enable_line_history(ws.data_dir / "chat_history")
    known = f" · {turns.info.messages} earlier messages" if turns.info.messages else ""
    err.print(
        f"[dim]overlay chat · session {name}{known} · model {current} · /help · Ctrl-D to leave[/]"
    )
    try:
        _repl(turns, llm, current, params)
    finally:
        turns.remember(llm)


def _repl(turns: Turns, llm: LLM, current: str, params: Mapping[str, object]) -> None:
    ws = turns.ws
    while True:
        try:
            line = input("you> ")
        except EOFError:
            out.print()
            return
        except KeyboardInterrupt:
            out.print()
            continue
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            command, _, arg = text.partition(" ")
            arg = arg.strip()
            if command in ("/exit", "/quit"):
                return
            if command == "/help":
                out.print(HELP)
            elif command == "/clear":
                turns.remember(llm)
                name = time.strftime("chat-%Y%m%d-%H%M%S")
                turns.open(name, llm, turns.memory.reply_tokens, turns.memory.persona)
                out.print(f"[dim]new session {name}[/]")
            elif command == "/system":
                turns.memory.persona = arg or None
                out.print(f"[dim]system prompt {'set' if arg else 'cleared'}[/]")
            elif command == "/model":
                if not arg:
                    out.print(f"model: {current}  (known: {', '.join(ws.model_names())})")
                    continue
                try:
                    llm = ready_llm(arg)
                    current = arg
                    out.print(f"[dim]switched to {current}[/]")
                except OverlayError as exc:
                    print_error(exc)
            else:
                out.print(f"unknown command {command}; /help lists them")
            continue

        messages = turns.prompt(text)
        parts: list[str] = []
        sys.stdout.write("ai> ")
        sys.stdout.flush()
        try:
            asyncio.run(stream_to_stdout(llm, messages, params, parts))
        except KeyboardInterrupt:
            err.print("\n[dim](stopped)[/]")
        except EngineError as exc:
            out.print()
            print_error(exc)
            continue
        out.print()
        turns.answered("".join(parts), llm)
