"""A scripted fake LLM for orchestration tests only (fallback logic). Never a runtime default."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
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
