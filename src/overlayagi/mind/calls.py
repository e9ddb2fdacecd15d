"""Model calls made by phases: budgeted, bounded in parallel, and recorded as events."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from typing import Any

from overlayagi.engine.errors import EngineError
from overlayagi.engine.protocols import LLM, JsonSchema
from overlayagi.engine.types import Completion, Message
from overlayagi.frames import templates
from overlayagi.frames.spec import Phase
from overlayagi.mind.events import LLMCall
from overlayagi.mind.state import RunContext, Shared
from overlayagi.mind.tags import TAG_INSTRUCTION, OutputFilter


class PhaseFailed(Exception):
    """A phase cannot go on; the run ends with ``error:<message>``."""


def system_prompt(ctx: RunContext, phase: Phase, role: str | None, extra: str = "") -> str:
    frame = ctx.frame
    variables = ctx.variables(phase)
    parts = []
    if frame.persona:
        parts.append(templates.render(frame.persona, variables))
    if role:
        parts.append(templates.render(frame.roles[role].system, variables))
    if phase.form == "tagged":
        parts.append(TAG_INSTRUCTION)
    if extra:
        parts.append(extra)
    return "\n\n".join(p for p in parts if p)


def messages_for(system: str, user: str, prefill: str | None = None) -> list[Message]:
    msgs = [Message.system(system)] if system else []
    msgs.append(Message.user(user))
    if prefill:
        msgs.append(Message.assistant(prefill))
    return msgs


def _dump(messages: list[Message]) -> list[dict[str, str]]:
    return [m.model_dump() for m in messages]


def request_key(
    messages: list[dict[str, str]], params: dict[str, Any], schema: Any, choices: Any = None
) -> str:
    """Identifies a model request, to answer it from the ledger when a run resumes."""
    body = json.dumps([messages, params, schema, choices], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


class Caller:
    def __init__(self, shared: Shared, ctx: RunContext, phase: Phase, span: str) -> None:
        self.shared = shared
        self.ctx = ctx
        self.phase = phase
        self.span = span

    def llm(self, role: str | None) -> LLM:
        spec = self.ctx.frame.roles.get(role) if role else None
        return self.shared.llm_for(spec.model if spec else None, spec.adapter if spec else None)

    def temperature(self, role: str | None) -> float:
        if self.phase.temperature is not None:
            return self.phase.temperature
        spec = self.ctx.frame.roles.get(role) if role else None
        if spec and spec.temperature is not None:
            return float(spec.temperature)
        return self.shared.temperature

    def _event(
        self, llm: LLM, role: str | None, purpose: str, messages: list[Message], **kw: Any
    ) -> LLMCall:
        return LLMCall(
            run_id=self.ctx.run_id,
            span=self.span,
            call_id=uuid.uuid4().hex[:12],
            phase=self.phase.id,
            role=role,
            purpose=purpose,
            model=llm.model_id,
            messages=_dump(messages),
            **kw,
        )

    def _failed(self, event: LLMCall, exc: EngineError, started: float) -> PhaseFailed:
        """Record a failed call; the returned error ends the phase (and the run)."""
        event.error = str(exc.what)
        event.latency_s = time.monotonic() - started
        self.shared.emit(event)
        return PhaseFailed(f"{event.model}: {exc.what}")

    async def chat(
        self,
        messages: list[Message],
        *,
        role: str | None,
        purpose: str = "generate",
        schema: JsonSchema | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stream: bool = False,
    ) -> Completion:
        budget = self.shared.budget
        budget.take_call()
        llm = self.llm(role)
        params: dict[str, Any] = {
            "max_tokens": budget.cap_tokens(
                max_tokens or self.phase.max_tokens or self.shared.max_tokens
            ),
            "temperature": self.temperature(role) if temperature is None else temperature,
            "seed": self.shared.next_seed(),
        }
        replayed = self._replayed(messages, params, schema)
        if replayed is not None:
            budget.spend_tokens(replayed.prompt_tokens + replayed.completion_tokens)
            return replayed
        async with self.shared.semaphore:
            started = time.monotonic()
            try:
                if schema is None:
                    # Streamed even when nobody watches: a cancelled run then stops the model
                    # at once instead of letting it finish the answer in the background.
                    show = stream and self.shared.on_delta is not None
                    completion = await self._stream(llm, messages, params, show)
                else:
                    completion = await asyncio.to_thread(
                        llm.chat, messages, schema=schema, **params
                    )
            except EngineError as exc:
                failed = self._event(llm, role, purpose, messages, params=params, schema=schema)
                raise self._failed(failed, exc, started) from exc
        budget.spend_tokens(completion.prompt_tokens + completion.completion_tokens)
        event = self._event(
            llm,
            role,
            purpose,
            messages,
            params=params,
            schema=schema,
            response=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=completion.latency_s,
            finish_reason=completion.finish_reason,
        )
        event.model = completion.model_id  # the model that served (after any fallback)
        self.shared.emit(event)
        return completion

    def _replayed(
        self, messages: list[Message], params: dict[str, Any], schema: JsonSchema | None
    ) -> Completion | None:
        """A call the interrupted run already made (same request): its recorded answer."""
        if not self.shared.recorded:
            return None
        queue = self.shared.recorded.get(request_key(_dump(messages), params, schema))
        if not queue:
            return None
        event = queue.pop(0)
        parsed = json.loads(event.response, strict=False) if schema is not None else None
        return Completion(
            text=event.response or "",
            finish_reason=event.finish_reason or "stop",
            prompt_tokens=event.prompt_tokens,
            completion_tokens=event.completion_tokens,
            latency_s=0.0,
            model_id=event.model,
            backend="ledger",
            parsed=parsed,
        )

    async def _stream(
        self, llm: LLM, messages: list[Message], params: dict[str, Any], show: bool
    ) -> Completion:
        on_delta = self.shared.on_delta if show else None
        tagged = self.phase.form == "tagged"
        gate = OutputFilter()
        s = llm.stream(messages, **params)
        try:
            async for delta in s:
                if on_delta is None:
                    continue
                shown = gate.feed(delta) if tagged else delta
                if shown:
                    on_delta(shown)
        finally:
            await s.aclose()
        if s.completion is None:
            raise asyncio.CancelledError
        return s.completion

    async def score(
        self, messages: list[Message], choices: list[str], *, role: str | None, purpose: str
    ) -> list[float]:
        budget = self.shared.budget
        budget.take_call()
        llm = self.llm(role)
        async with self.shared.semaphore:
            started = time.monotonic()
            try:
                scores = await asyncio.to_thread(llm.score_choices, messages, choices)
            except EngineError as exc:
                failed = self._event(llm, role, purpose, messages, params={}, choices=choices)
                raise self._failed(failed, exc, started) from exc
        prompt_tokens = sum(llm.count_tokens(m.content) for m in messages)
        budget.spend_tokens(prompt_tokens)
        self.shared.emit(
            self._event(
                llm,
                role,
                purpose,
                messages,
                params={},
                choices=choices,
                scores=scores,
                prompt_tokens=prompt_tokens,
                latency_s=time.monotonic() - started,
            )
        )
        return scores
