"""Scripted fake LLMs for orchestration tests only (fallback, runner). Never a runtime default."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from overlayagi.engine.streaming import DeltaStream
from overlayagi.engine.types import Completion, Message


class ScriptedLLM:
    """Raises the scripted errors in order, then answers ``answer``; counts calls."""

    backend = "scripted"

    def __init__(self, model_id: str, errors: Sequence[Exception] = (), answer: str = "ok"):
        self._model_id = model_id
        self.errors = list(errors)
        self.answer = answer
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return 1024

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _next(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)

    def chat(self, messages: Sequence[Message], **_: Any) -> Completion:
        self._next()
        return Completion(
            text=self.answer,
            finish_reason="stop",
            prompt_tokens=1,
            completion_tokens=1,
            latency_s=0.0,
            model_id=self._model_id,
            backend=self.backend,
        )

    def stream(self, messages: Sequence[Message], **_: Any) -> DeltaStream:
        async def run(stream: DeltaStream) -> AsyncIterator[str]:
            self._next()
            for word in self.answer.split(" "):
                yield word + " "
            stream.completion = self.chat(messages)
            self.calls -= 1

        return DeltaStream(run)

    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        self._next()
        return [1.0 / len(choices)] * len(choices)


Reply = Callable[[list[Message], dict[str, Any]], Any]


class FakeLLM:
    """Scripted replies for runner orchestration tests (never a runtime default).

    ``reply(messages, kwargs)`` returns text, or a dict for schema calls; ``scores(messages,
    choices)`` returns raw scores. ``delay`` makes calls slow, to test concurrency, timeouts and
    cancellation; ``max_active`` records the most calls seen at once.
    """

    backend = "fake"

    def __init__(
        self,
        reply: Reply | Sequence[Any] = "ok",
        *,
        scores: Callable[[list[Message], Sequence[str]], list[float]] | None = None,
        delay: float = 0.0,
        model_id: str = "fake",
    ) -> None:
        if isinstance(reply, str) or callable(reply):
            self._reply = reply
        else:
            queue = list(reply)
            self._reply = lambda _m, _k: queue.pop(0)
        self._scores = scores
        self.delay = delay
        self._model_id = model_id
        self.calls: list[dict[str, Any]] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return 4096

    def count_tokens(self, text: str) -> int:
        return max(1, len(text.split()))

    def _enter(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        if self.delay:
            time.sleep(self.delay)

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def chat(self, messages: Sequence[Message], **kwargs: Any) -> Completion:
        self._enter()
        try:
            msgs = list(messages)
            self.calls.append({"messages": msgs, **kwargs})
            value = self._reply if isinstance(self._reply, str) else self._reply(msgs, kwargs)
            parsed = None
            if kwargs.get("schema") is not None:
                parsed = value if not isinstance(value, str) else json.loads(value)
                value = json.dumps(parsed)
            text = str(value)
            return Completion(
                text=text,
                finish_reason="stop",
                prompt_tokens=sum(self.count_tokens(m.content) for m in msgs),
                completion_tokens=self.count_tokens(text),
                latency_s=self.delay,
                model_id=self._model_id,
                backend=self.backend,
                parsed=parsed,
            )
        finally:
            self._leave()

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> DeltaStream:
        async def run(stream: DeltaStream) -> AsyncIterator[str]:
            completion = await asyncio.to_thread(self.chat, messages, **kwargs)
            for i in range(0, len(completion.text), 3):
                yield completion.text[i : i + 3]
            stream.completion = completion

        return DeltaStream(run)

    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        self._enter()
        try:
            self.calls.append({"messages": list(messages), "choices": list(choices)})
            if self._scores is None:
                return [1.0 / len(choices)] * len(choices)
            return self._scores(list(messages), choices)
        finally:
            self._leave()
