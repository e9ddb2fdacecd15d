"""``overlay chat``: an interactive conversation with streaming and line history.

Ctrl-C while the model writes stops that answer and keeps the REPL; Ctrl-C at the prompt clears
the line; Ctrl-D or /exit leaves. When the conversation outgrows the context window the oldest
turns are left out of the prompt, and the REPL says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, field
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

HELP = """\
commands:
  /help          this help
  /model         show the active model;  /model NAME  switch to another (see `overlay models`)
  /system TEXT   set the system prompt (empty TEXT clears it)
  /clear         forget the conversation so far
  /exit          leave (also Ctrl-D)
Ctrl-C stops the answer being written."""

PER_MESSAGE_OVERHEAD = 8  # template tokens around each message (role markers, newlines)


@dataclass
class Conversation:
    system: str | None = None
    turns: list[Message] = field(default_factory=list)

    def fitted(self, llm: LLM, max_tokens: int) -> tuple[list[Message], int]:
        """System prompt plus the most recent turns that fit. Returns (messages, dropped)."""
        budget = llm.context_size - max_tokens
        head = [Message.system(self.system)] if self.system else []
        used = sum(llm.count_tokens(m.content) + PER_MESSAGE_OVERHEAD for m in head)
        kept: list[Message] = []
        for message in reversed(self.turns):
            cost = llm.count_tokens(message.content) + PER_MESSAGE_OVERHEAD
            if used + cost > budget and kept:
                break
            kept.append(message)
            used += cost
        kept.reverse()
        return head + kept, len(self.turns) - len(kept)


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


def chat(
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name (default: engine.model).")
    ] = None,
    system: Annotated[str | None, typer.Option(help="A system prompt.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Default: engine.max_tokens.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Default: engine.temperature.")] = None,
) -> None:
    """Talk with the model: streaming REPL with history, /help for commands."""
    ws = state.workspace()
    engine = ws.config.engine
    current = model or engine.model
    llm = ready_llm(current)
    convo = Conversation(system=system)
    params = {
        "max_tokens": max_tokens or engine.max_tokens,
        "temperature": engine.temperature if temperature is None else temperature,
        "top_p": engine.top_p,
        "seed": engine.seed,
    }
    _enable_line_history(ws.data_dir / "chat_history")
    err.print(f"[dim]overlay chat · model {current} · /help for commands · Ctrl-D to leave[/]")
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
                convo.turns.clear()
                out.print("[dim]conversation cleared[/]")
            elif command == "/system":
                convo.system = arg or None
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

        convo.turns.append(Message.user(text))
        messages, dropped = convo.fitted(llm, max_tokens or engine.max_tokens)
        if dropped:
            err.print(f"[dim]({dropped} older messages left out to fit the context window)[/]")
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
            convo.turns.pop()  # the question was not answered; let the user retry
            continue
        out.print()
        convo.turns.append(Message.assistant("".join(parts)))
