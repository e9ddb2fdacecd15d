"""Plain data that crosses the engine seam: messages, completions, fallback attempts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat message. A trailing ``assistant`` message is a prefill the model continues."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        return cls(role="assistant", content=content)


FinishReason = Literal["stop", "length", "cancelled"]


def finish_reason(reason: str | None) -> FinishReason:
    """Normalise a backend's finish reason ("eos", "stop", None, … → "stop")."""
    if reason == "length":
        return "length"
    if reason == "cancelled":
        return "cancelled"
    return "stop"


class Attempt(BaseModel):
    """A model that was tried before the one that served, and why it did not."""

    model_id: str
    error: str


class Completion(BaseModel):
    """The full result of one LLM call."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    latency_s: float = Field(description="Wall time of the call, seconds.")
    ttft_s: float | None = Field(default=None, description="Time to first token when streamed.")
    model_id: str = Field(description="The model that actually served this completion.")
    backend: str
    parsed: Any = Field(default=None, description="The decoded JSON when a schema was given.")
    attempts: list[Attempt] = Field(
        default_factory=list, description="Models tried first that failed (fallback)."
    )


def as_messages(
    messages: list[Message] | list[dict[str, str]] | tuple[Message, ...],
) -> list[Message]:
    """Accept ``Message`` objects or OpenAI-style dicts."""
    return [m if isinstance(m, Message) else Message.model_validate(m) for m in messages]
