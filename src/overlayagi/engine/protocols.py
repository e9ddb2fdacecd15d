"""The seams the rest of Overlay depends on: ``LLM`` and ``Embedder``.

Every backend (embedded llama.cpp, OpenAI-compatible servers, the fallback chain) implements
``LLM``; every embedding model implements ``Embedder``. Callers never import a backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from overlayagi.engine.types import Completion, Message

JsonSchema = dict[str, Any]


class CompletionStream(Protocol):
    """Async iterator of text deltas; ``completion`` is set once iteration has finished."""

    completion: Completion | None

    def __aiter__(self) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class LLM(Protocol):
    """A chat model. Implementations must be safe to call from several asyncio tasks."""

    @property
    def model_id(self) -> str: ...

    @property
    def context_size(self) -> int: ...

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
        """Generate one completion. With ``schema``, output is constrained to it and parsed."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        top_p: float = 0.95,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> CompletionStream:
        """Stream text deltas; the finished ``Completion`` is on the stream afterwards."""
        ...

    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        """Probability the model gives each choice as the continuation of ``messages``.

        Each value is the joint probability of the choice's tokens (from logprobs), so the model
        *chooses* without writing. Values are not normalised across choices.
        """
        ...

    def count_tokens(self, text: str) -> int: ...


@runtime_checkable
class Embedder(Protocol):
    """Text → dense vectors (L2-normalised rows)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], *, query: bool = False) -> npt.NDArray[np.float32]:
        """Embed ``texts``; ``query=True`` marks search queries for models that distinguish them."""
        ...
