"""One chat turn for the HTTP API: a frame (``overlay/<frame>``) or a raw model, optionally in an
Overlay session so that memory carries from one request to the next.

With a session, the server's memory is the conversation: only the request's latest user
message is new; earlier turns come from the session (rolling summary + recent turns), exactly as
in ``overlay chat``. Without one, the request's messages are the whole context, as with any
OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from overlayagi.engine.types import Completion, Message
from overlayagi.errors import OverlayError
from overlayagi.interfaces.http.observability import Metrics
from overlayagi.memory.sessions import SessionMemory
from overlayagi.mind.events import FanoutSink
from overlayagi.workspace import Workspace

FRAME_PREFIX = "overlay/"


class ChatRequestError(OverlayError):
    """The request names something that does not exist or cannot be honoured (HTTP 4xx)."""

    status = 400

    def __init__(self, what: str, *, fix: str | None = None, status: int = 400) -> None:
        super().__init__(what, fix=fix)
        self.status = status


@dataclass
class TurnResult:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    run_id: str | None = None
    parsed: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    model: str
    messages: list[Message]
    session: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None
    schema: dict[str, Any] | None = None


def transcript(messages: Sequence[Message]) -> str:
    return "\n".join(f"{m.role.capitalize()}: {m.content}" for m in messages if m.role != "system")


class ChatService:
    def __init__(self, workspace: Workspace, metrics: Metrics | None = None) -> None:
        self.ws = workspace
        self.metrics = metrics

    # -- models -------------------------------------------------------------------------------
    def frame_ids(self) -> list[str]:
        return sorted(self.ws.frame_library().refresh())

    def model_ids(self) -> list[str]:
        return [f"{FRAME_PREFIX}{f}" for f in self.frame_ids()] + self.ws.model_names()

    def _check_model(self, model: str) -> str | None:
        """The frame id for ``overlay/<frame>``, ``None`` for a raw model; else an error."""
        if model.startswith(FRAME_PREFIX):
            frame = model[len(FRAME_PREFIX) :]
            if frame not in self.frame_ids():
                raise ChatRequestError(
                    f"no frame named '{frame}'",
                    fix="GET /v1/models lists every overlay/<frame> model",
                    status=404,
                )
            return frame
        if model not in self.ws.model_names():
            raise ChatRequestError(
                f"unknown model '{model}'",
                fix="GET /v1/models lists the frames (overlay/<frame>) and the raw models",
                status=404,
            )
        return None

    # -- one turn -----------------------------------------------------------------------------
    def _session(self, name: str, model: str | None, reply_tokens: int) -> SessionMemory:
        llm = self.ws.llm(model)
        store = self.ws.store()
        return SessionMemory(
            store,
            store.ensure_session(name),
            count_tokens=llm.count_tokens,
            context_size=llm.context_size,
            reply_tokens=reply_tokens,
            history_share=self.ws.config.memory.history_share,
        )

    async def run(self, turn: Turn, on_delta: Callable[[str], None] | None = None) -> TurnResult:
        frame = self._check_model(turn.model)
        if not turn.messages or turn.messages[-1].role != "user":
            raise ChatRequestError(
                "the last message must come from the user",
                fix='end "messages" with {"role": "user", "content": "…"}',
            )
        question = turn.messages[-1].content
        raw_model = None if frame is not None else turn.model
        reply_tokens = turn.max_tokens or self.ws.config.engine.max_tokens
        memory = self._session(turn.session, raw_model, reply_tokens) if turn.session else None
        if memory is not None:
            memory.add("user", question)
        if frame is not None:
            result = await self._run_frame(frame, turn, question, memory, on_delta)
        else:
            result = await self._run_model(turn, memory, on_delta)
        if memory is not None:
            memory.add("assistant", result.text, run_id=result.run_id)
        return result

    async def _run_model(
        self, turn: Turn, memory: SessionMemory | None, on_delta: Callable[[str], None] | None
    ) -> TurnResult:
        llm = self.ws.llm(turn.model)
        engine = self.ws.config.engine
        if memory is not None:
            system = [m for m in turn.messages if m.role == "system"]
            messages = system + [m for m in memory.build().messages if m.role != "system"]
        else:
            messages = list(turn.messages)
        params: dict[str, Any] = {
            "max_tokens": turn.max_tokens or engine.max_tokens,
            "temperature": engine.temperature if turn.temperature is None else turn.temperature,
            "top_p": engine.top_p,
            "seed": turn.seed if turn.seed is not None else engine.seed,
        }
        if turn.schema is not None or on_delta is None:
            done: Completion = await asyncio.to_thread(
                llm.chat, messages, schema=turn.schema, **params
            )
            if on_delta is not None:
                on_delta(done.text)
        else:
            stream = llm.stream(messages, **params)
            async for delta in stream:
                on_delta(delta)
            assert stream.completion is not None
            done = stream.completion
        if self.metrics is not None:
            self.metrics.completion(
                done.model_id, done.prompt_tokens, done.completion_tokens, done.latency_s
            )
        return TurnResult(
            text=done.text,
            model=turn.model,
            prompt_tokens=done.prompt_tokens,
            completion_tokens=done.completion_tokens,
            finish_reason=done.finish_reason,
            parsed=done.parsed,
        )

    async def _run_frame(
        self,
        frame: str,
        turn: Turn,
        question: str,
        memory: SessionMemory | None,
        on_delta: Callable[[str], None] | None,
    ) -> TurnResult:
        if turn.schema is not None:
            raise ChatRequestError(
                "response_format with a schema is honoured for raw models, not for frames: a "
                "frame decides its own output form",
                fix="give the frame a json output phase with that schema, or call a raw model",
            )
        if memory is not None:
            earlier = [m for m in memory.build().messages if m.role != "system"][:-1]
        else:
            earlier = [m for m in turn.messages[:-1] if m.role != "system"]
        text = question
        if earlier:
            text = f"Conversation so far:\n{transcript(earlier)}\n\nLatest message: {question}"
        runner = self.ws.runner(seed=turn.seed)
        ledger = self.ws.ledger_sink()
        sink = FanoutSink(ledger, self.metrics) if self.metrics is not None else ledger
        result = await runner.run(frame, text, goal=question, sink=sink, on_delta=on_delta)
        if result.status not in ("ok", "stopped"):
            raise ChatRequestError(
                f"the frame '{frame}' failed: {result.reason}",
                fix=f"see `overlay ledger show {result.run_id}`",
                status=500,
            )
        return TurnResult(
            text=result.output,
            model=turn.model,
            prompt_tokens=max(0, result.tokens),
            completion_tokens=0,
            finish_reason="stop" if result.status == "ok" else "length",
            run_id=result.run_id,
            extra={"llm_calls": result.llm_calls, "status": result.status},
        )

    async def stream(self, turn: Turn) -> AsyncIterator[str | TurnResult]:
        """Deltas as they come, then the finished ``TurnResult`` (or the error raised)."""
        queue: asyncio.Queue[str | TurnResult | BaseException] = asyncio.Queue()

        async def work() -> None:
            try:
                await queue.put(await self.run(turn, on_delta=queue.put_nowait))
            except BaseException as exc:  # handed to the consumer, which re-raises it
                await queue.put(exc)

        task = asyncio.create_task(work())
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, TurnResult):
                    return
        finally:
            if not task.done():
                task.cancel()
