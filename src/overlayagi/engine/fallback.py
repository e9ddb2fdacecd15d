"""An ordered chain of models: when one cannot serve, the next does.

Only ``BackendUnavailableError`` (connection refused, timeout, 5xx, 429) moves down the chain,
after ``retries`` bounded retries with backoff. Errors a retry cannot fix (a bad request, a
context overflow, a schema failure) are raised at once. The ``Completion`` lists the failed
attempts and names the model that served; the log says the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from overlayagi.engine.errors import BackendUnavailableError
from overlayagi.engine.protocols import LLM, JsonSchema
from overlayagi.engine.streaming import DeltaStream
from overlayagi.engine.types import Attempt, Completion, Message

log = logging.getLogger(__name__)
T = TypeVar("T")


class FallbackLLM:
    """``LLM`` that delegates to the first member able to serve."""

    backend = "fallback"

    def __init__(self, members: Sequence[LLM], *, retries: int = 1, backoff_s: float = 0.25):
        if not members:
            raise ValueError("FallbackLLM needs at least one model")
        self.members = list(members)
        self.retries = retries
        self.backoff_s = backoff_s

    @property
    def model_id(self) -> str:
        return self.members[0].model_id

    @property
    def context_size(self) -> int:
        return self.members[0].context_size

    def count_tokens(self, text: str) -> int:
        return self.members[0].count_tokens(text)

    def _run(self, call: Callable[[LLM], T]) -> tuple[T, list[Attempt]]:
        attempts: list[Attempt] = []
        last: BackendUnavailableError | None = None
        for member in self.members:
            for attempt in range(self.retries + 1):
                try:
                    result = call(member)
                except BackendUnavailableError as exc:
                    last = exc
                    log.warning(
                        "model %s unavailable (try %d/%d): %s",
                        member.model_id,
                        attempt + 1,
                        self.retries + 1,
                        exc.what,
                    )
                    if attempt < self.retries:
                        time.sleep(self.backoff_s * (2**attempt))
                    continue
                if attempts:
                    log.warning("served by fallback model %s", member.model_id)
                return result, attempts
            attempts.append(Attempt(model_id=member.model_id, error=last.what if last else "?"))
        assert last is not None
        raise BackendUnavailableError(
            "no model in the fallback chain could serve: "
            + "; ".join(f"{a.model_id}: {a.error}" for a in attempts),
            fix="start one of the servers, or add the embedded model to engine.fallback",
        )

    def chat(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        top_p: float = 0.95,
        seed: int | None = None,
        stop: Sequence[str] = (),
        schema: JsonSchema | None = None,
    ) -> Completion:
        completion, attempts = self._run(
            lambda m: m.chat(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                top_p=top_p,
                seed=seed,
                stop=stop,
                schema=schema,
            )
        )
        completion.attempts = attempts + completion.attempts
        return completion

    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        scores, _ = self._run(lambda m: m.score_choices(messages, choices))
        return scores

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        top_p: float = 0.95,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> DeltaStream:
        """Fails over only before the first delta; after that an error is the caller's."""

        async def run(stream: DeltaStream) -> AsyncIterator[str]:
            attempts: list[Attempt] = []
            for member in self.members:
                error: BackendUnavailableError | None = None
                for attempt in range(self.retries + 1):
                    inner = member.stream(
                        messages,
                        max_tokens=max_tokens,
                        temperature=temperature,
                        top_p=top_p,
                        seed=seed,
                        stop=stop,
                    )
                    iterator = inner.__aiter__()
                    try:
                        first = await iterator.__anext__()
                    except StopAsyncIteration:
                        first = None
                    except BackendUnavailableError as exc:
                        error = exc
                        log.warning("model %s unavailable (stream): %s", member.model_id, exc.what)
                        if attempt < self.retries:
                            await asyncio.sleep(self.backoff_s * (2**attempt))
                        continue
                    if attempts:
                        log.warning("served by fallback model %s", member.model_id)
                    try:
                        if first is not None:
                            yield first
                            async for delta in iterator:
                                yield delta
                    finally:
                        await inner.aclose()
                        if inner.completion is not None:
                            inner.completion.attempts = attempts
                        stream.completion = inner.completion
                    return
                attempts.append(
                    Attempt(model_id=member.model_id, error=error.what if error else "?")
                )
            raise BackendUnavailableError(
                "no model in the fallback chain could serve: "
                + "; ".join(f"{a.model_id}: {a.error}" for a in attempts),
                fix="start one of the servers, or add the embedded model to engine.fallback",
            )

        return DeltaStream(run)
