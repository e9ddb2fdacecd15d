"""The OpenAI-compatible API: any OpenAI client can talk to a frame as if it were a model."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse

from overlayagi.engine.types import Message
from overlayagi.interfaces.http.chat_service import (
    ChatRequestError,
    ChatService,
    Turn,
    TurnResult,
)

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
SESSION_HEADER = "X-Overlay-Session"


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "overlay/reflect",
                    "messages": [{"role": "user", "content": "Why run a model locally?"}],
                    "user": "my-session",
                }
            ]
        },
    )

    model: str = Field(description="overlay/<frame> for a frame, or a raw model name.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    user: str | None = Field(
        default=None, description="Maps the conversation onto this Overlay session."
    )
    response_format: dict[str, Any] | None = None


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"model": "default", "input": ["first", "second"]}]},
    )

    input: str | list[str]
    model: str = "default"


def _service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat
    return service


def openai_error(exc: ChatRequestError) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status,
        content={
            "error": {
                "message": exc.what + (f" — {exc.fix}" if exc.fix else ""),
                "type": "invalid_request_error" if exc.status < 500 else "server_error",
                "code": exc.status,
            }
        },
    )


def _schema(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    """``response_format`` → a JSON schema for constrained decoding (or ``None`` for text)."""
    if not fmt or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_object":
        return {"type": "object"}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            raise ChatRequestError(
                "response_format.json_schema.schema must be a JSON schema object",
                fix='{"type": "json_schema", "json_schema": {"name": "x", "schema": {...}}}',
                status=422,
            )
        return schema
    raise ChatRequestError(
        f"unsupported response_format type {fmt.get('type')!r}",
        fix="use text, json_object or json_schema",
        status=422,
    )


def _turn(body: ChatCompletionRequest, session_header: str | None) -> Turn:
    return Turn(
        model=body.model,
        messages=[Message(role=_role(m.role), content=m.text()) for m in body.messages],
        session=session_header or body.user,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        seed=body.seed,
        schema=_schema(body.response_format),
    )


def _role(role: str) -> Literal["system", "user", "assistant"]:
    if role in ("system", "developer"):
        return "system"
    return "assistant" if role in ("assistant", "tool") else "user"


def _usage(result: TurnResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


@router.get("/models", summary="Frames (overlay/<frame>) and raw models")
async def list_models(request: Request) -> dict[str, Any]:
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "overlay"}
            for name in _service(request).model_ids()
        ],
    }


@router.post("/chat/completions", summary="Chat with a frame or a model (SSE when streaming)")
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    x_overlay_session: Annotated[str | None, Header(alias=SESSION_HEADER)] = None,
) -> Any:
    service = _service(request)
    try:
        turn = _turn(body, x_overlay_session)
        if not body.stream:
            result = await service.run(turn)
    except ChatRequestError as exc:
        return openai_error(exc)
    ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    # Header values are latin-1: a session name in any script travels percent-encoded.
    headers = {SESSION_HEADER: quote(turn.session, safe="")} if turn.session else {}
    if not body.stream:
        message: dict[str, Any] = {"role": "assistant", "content": result.text}
        payload = {
            "id": ident,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "message": message, "finish_reason": result.finish_reason}],
            "usage": _usage(result),
        }
        if result.run_id:
            payload["overlay"] = {"run_id": result.run_id, **result.extra}
            headers["X-Overlay-Run"] = result.run_id
        return JSONResponse(payload, headers=headers)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return json.dumps(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            },
            ensure_ascii=False,
        )

    async def events() -> AsyncIterator[dict[str, str]]:
        yield {"data": chunk({"role": "assistant", "content": ""})}
        try:
            async for item in service.stream(turn):
                if isinstance(item, TurnResult):
                    extra: dict[str, Any] = {"usage": _usage(item)}
                    if item.run_id:
                        extra["overlay"] = {"run_id": item.run_id, **item.extra}
                    yield {"data": chunk({}, item.finish_reason, **extra)}
                elif item:
                    yield {"data": chunk({"content": item})}
        except ChatRequestError as exc:
            yield {"data": json.dumps({"error": {"message": exc.what, "code": exc.status}})}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events(), headers=headers, ping=15)


@router.post("/embeddings", summary="Embed texts with the workspace's embedder")
async def embeddings(body: EmbeddingRequest, request: Request) -> dict[str, Any]:
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    embedder = _service(request).ws.embedder()
    import asyncio

    vectors = await asyncio.to_thread(embedder.embed, texts)
    return {
        "object": "list",
        "model": embedder.model_id,
        "data": [
            {"object": "embedding", "index": i, "embedding": [float(x) for x in row]}
            for i, row in enumerate(vectors)
        ],
        "usage": {"prompt_tokens": sum(len(t.split()) for t in texts), "total_tokens": 0},
    }
