"""FOR BENCHMARKING ONLY: a backend that echoes the last user message, with an optional fixed
delay. ``bench/server_load.py`` uses it to measure the server's own overhead without a model;
it is never a default and is only built when a model is configured with ``backend = "echo"``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from overlayagi.engine.types import Completion, Message


class EchoStream:
    def __init__(self, llm: EchoLLM, messages: Sequence[Message]) -> None:
        self._llm = llm
        self._messages = messages
        self.completion: Completion | None = None

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._llm.delay_s:
            await asyncio.sleep(self._llm.delay_s)
        done = self._llm.completion(self._messages)
        for word in done.text.split(" "):
            yield word + " "
        self.completion = done

    async def aclose(self) -> None:
        return None


class EchoLLM:
    backend = "echo"

    def __init__(self, *, model_id: str = "echo", delay_s: float = 0.0) -> None:
        self._model_id = model_id
        self.delay_s = delay_s

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return 32768

    def count_tokens(self, text: str) -> int:
        return max(1, len(text.split()))

    def completion(self, messages: Sequence[Message]) -> Completion:
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        return Completion(
            text=last,
            finish_reason="stop",
            prompt_tokens=sum(self.count_tokens(m.content) for m in messages),
            completion_tokens=self.count_tokens(last),
            latency_s=self.delay_s,
            model_id=self._model_id,
            backend=self.backend,
        )

    def chat(self, messages: Sequence[Message], **_: Any) -> Completion:
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.completion(messages)

    def stream(self, messages: Sequence[Message], **_: Any) -> EchoStream:
        return EchoStream(self, messages)

    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        return [1.0 / len(choices)] * len(choices) if choices else []
