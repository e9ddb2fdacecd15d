"""Backend for any OpenAI-compatible server: Ollama, vLLM, LM Studio, llama.cpp's servers.

* chat and JSON output over ``/chat/completions`` (``response_format``; ``json_mode="auto"``
  tries the OpenAI ``json_schema`` form first and falls back to ``json_object`` + ``schema``,
  which llama-cpp-python's server speaks, remembering what worked);
* streaming over SSE;
* ``score_choices`` over ``/completions`` with ``echo`` + ``logprobs`` (prompt logprobs). Servers
  that do not return them raise ``CapabilityError``. The server does not expose its chat template,
  so messages are rendered with ``chat_template`` (ChatML by default) for scoring.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import httpx
import jinja2.sandbox
from httpx_sse import aconnect_sse

from overlayagi.engine.errors import (
    BackendError,
    BackendUnavailableError,
    CapabilityError,
    ContextOverflowError,
)
from overlayagi.engine.llamacpp import CHATML_TEMPLATE
from overlayagi.engine.protocols import JsonSchema
from overlayagi.engine.schema import parse_and_validate
from overlayagi.engine.streaming import DeltaStream
from overlayagi.engine.types import Completion, Message, as_messages, finish_reason

JsonMode = Literal["auto", "json_schema", "json_object"]

_CONTEXT_HINTS = ("context length", "context window", "maximum context", "exceed context")


class OpenAICompatLLM:
    """``LLM`` over an OpenAI-compatible HTTP API."""

    backend = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        model_id: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        context_size: int = 8192,
        json_mode: JsonMode = "auto",
        chat_template: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._model_id = model_id or model
        self._context_size = context_size
        self._json_mode: JsonMode = json_mode
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url, timeout=self._timeout, headers=self._headers
        )
        env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self._template = env.from_string(chat_template or CHATML_TEMPLATE)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return self._context_size

    def count_tokens(self, text: str) -> int:
        """An estimate (≈4 UTF-8 bytes a token): OpenAI-compatible servers share no tokenizer
        endpoint. Used for budgeting only; the server itself rejects an over-long prompt."""
        return max(1, math.ceil(len(text.encode("utf-8")) / 4)) if text else 0

    # -- HTTP -------------------------------------------------------------------------------
    def _where(self, path: str) -> str:
        return f"{self.base_url}{path} (model {self.model})"

    def _raise_for(self, response: httpx.Response, path: str) -> None:
        if response.status_code < 400:
            return
        body = response.text[:500]
        if response.status_code >= 500 or response.status_code == 429:
            raise BackendUnavailableError(
                f"server answered HTTP {response.status_code}: {body}", where=self._where(path)
            )
        if any(h in body.lower() for h in _CONTEXT_HINTS):
            raise ContextOverflowError(
                f"the server rejected the prompt as too long: {body}",
                where=self._where(path),
                fix="shorten the input or lower max_tokens",
            )
        fix = (
            "set api_key for this model in overlay.toml (or OVERLAY_MODELS__<NAME>__API_KEY)"
            if response.status_code in (401, 403)
            else "check the model name and the request options this server supports"
        )
        raise BackendError(
            f"server answered HTTP {response.status_code}: {body}",
            where=self._where(path),
            fix=fix,
        )

    def _unavailable(self, exc: Exception, path: str) -> BackendUnavailableError:
        kind = type(exc).__name__
        return BackendUnavailableError(
            f"cannot reach the server ({kind}: {exc})",
            where=self._where(path),
            fix="start the server or correct base_url; `overlay doctor` checks every backend",
        )

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=payload)
        except httpx.TransportError as exc:
            raise self._unavailable(exc, path) from exc
        self._raise_for(response, path)
        try:
            data: dict[str, Any] = response.json()
        except ValueError as exc:
            raise BackendError(
                f"server returned non-JSON: {response.text[:200]!r}", where=self._where(path)
            ) from exc
        return data

    def ping(self) -> list[str]:
        """List the server's models (``GET /models``); raises if unreachable."""
        try:
            response = self._client.get("/models")
        except httpx.TransportError as exc:
            raise self._unavailable(exc, "/models") from exc
        self._raise_for(response, "/models")
        return [m.get("id", "?") for m in response.json().get("data", [])]

    # -- chat -------------------------------------------------------------------------------
    def _payload(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        top_p: float,
        seed: int | None,
        stop: Sequence[str],
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in as_messages(list(messages))],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
        }
        if seed is not None:
            payload["seed"] = seed
        if stop:
            payload["stop"] = list(stop)
        return payload

    @staticmethod
    def _response_format(mode: JsonMode, schema: JsonSchema) -> dict[str, Any]:
        if mode == "json_object":
            return {"type": "json_object", "schema": schema}
        return {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }

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
        started = time.perf_counter()
        payload = self._payload(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=stop,
        )
        if schema is None:
            data = self._post("/chat/completions", payload)
        else:
            data = self._chat_json(payload, schema)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        text = choice["message"].get("content") or ""
        completion = Completion(
            text=text,
            finish_reason=finish_reason(choice.get("finish_reason")),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", self.count_tokens(text))),
            latency_s=time.perf_counter() - started,
            model_id=self._model_id,
            backend=self.backend,
        )
        if schema is not None:
            completion.parsed = parse_and_validate(completion, schema)
        return completion

    def _chat_json(self, payload: dict[str, Any], schema: JsonSchema) -> dict[str, Any]:
        modes: list[JsonMode] = (
            ["json_schema", "json_object"] if self._json_mode == "auto" else [self._json_mode]
        )
        last: BackendError | BackendUnavailableError | None = None
        for mode in modes:
            try:
                data = self._post(
                    "/chat/completions",
                    {**payload, "response_format": self._response_format(mode, schema)},
                )
            except ContextOverflowError:
                raise
            except (BackendError, BackendUnavailableError) as exc:
                # A 4xx means this server does not take this form; some servers (llama-cpp-
                # python's) answer a rejected response_format with a 500 that names it.
                if isinstance(exc, BackendUnavailableError) and "response_format" not in exc.what:
                    raise
                last = exc
                continue
            self._json_mode = mode  # remember what this server accepts
            return data
        assert last is not None
        raise last

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
        payload = self._payload(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=stop,
        )
        payload["stream"] = True

        async def run(stream: DeltaStream) -> AsyncIterator[str]:
            started = time.perf_counter()
            parts: list[str] = []
            finish: str | None = None
            usage: dict[str, Any] = {}
            ttft: float | None = None
            completed = False
            path = "/chat/completions"
            try:
                async with (
                    httpx.AsyncClient(
                        base_url=self.base_url, timeout=self._timeout, headers=self._headers
                    ) as client,
                    aconnect_sse(client, "POST", path, json=payload) as source,
                ):
                    response = source.response
                    if response.status_code >= 400:
                        await response.aread()
                        self._raise_for(response, path)
                    async for event in source.aiter_sse():
                        if event.data.strip() == "[DONE]":
                            break
                        chunk = json.loads(event.data)
                        usage = chunk.get("usage") or usage
                        if not chunk.get("choices"):
                            continue
                        choice = chunk["choices"][0]
                        finish = choice.get("finish_reason") or finish
                        delta = (choice.get("delta") or {}).get("content") or ""
                        if delta:
                            if ttft is None:
                                ttft = time.perf_counter() - started
                            parts.append(delta)
                            yield delta
                completed = True
            except httpx.TransportError as exc:
                raise self._unavailable(exc, path) from exc
            finally:
                text = "".join(parts)
                stream.completion = Completion(
                    text=text,
                    finish_reason=finish_reason(finish) if completed else "cancelled",
                    prompt_tokens=int(usage.get("prompt_tokens", 0)),
                    completion_tokens=int(usage.get("completion_tokens", len(parts))),
                    latency_s=time.perf_counter() - started,
                    ttft_s=ttft,
                    model_id=self._model_id,
                    backend=self.backend,
                )

        return DeltaStream(run)

    # -- selection --------------------------------------------------------------------------
    def _render(self, messages: Sequence[Message]) -> str:
        msgs = as_messages(list(messages))
        prefill = ""
        if msgs and msgs[-1].role == "assistant":
            prefill = msgs[-1].content
            msgs = msgs[:-1]
        rendered: str = self._template.render(
            messages=[m.model_dump() for m in msgs], add_generation_prompt=True
        )
        return rendered + prefill

    def _choice_logprob(self, data: dict[str, Any], choice: str) -> float:
        total = _choice_logprob_from(data, choice)
        if total is None:
            raise CapabilityError(
                f"{self.base_url} returned no prompt logprobs, which score_choices needs",
                where=self._where("/completions"),
                fix="use a server that supports echo+logprobs (vLLM, llama-cpp-python's "
                "server) or the embedded llamacpp backend for selection",
            )
        return total

    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        prefix = self._render(messages)
        scores: list[float] = []
        for choice in choices:
            if not choice:
                scores.append(1.0)
                continue
            data = self._post(
                "/completions",
                {
                    "model": self.model,
                    "prompt": prefix + choice,
                    "max_tokens": 1,
                    "echo": True,
                    "logprobs": 1,
                    "temperature": 0.0,
                },
            )
            scores.append(math.exp(self._choice_logprob(data, choice)))
        return scores


def _choice_logprob_from(data: dict[str, Any], choice: str) -> float | None:
    """Sum the logprobs of the echoed prompt's last tokens that spell ``choice``.

    The prompt's tokens are the first ``usage.prompt_tokens`` entries (text offsets are not
    comparable across servers: some leave special tokens out of them). Returns ``None`` when
    the response carries no usable prompt logprobs.
    """
    logprobs = (data.get("choices") or [{}])[0].get("logprobs") or {}
    tokens = logprobs.get("tokens")
    values = logprobs.get("token_logprobs")
    n_prompt = (data.get("usage") or {}).get("prompt_tokens")
    if not tokens or not values or not n_prompt or len(values) < n_prompt:
        return None
    covered, total, i = 0, 0.0, n_prompt - 1
    while covered < len(choice) and i > 0:
        if values[i] is None:
            return None
        total += float(values[i])
        covered += len(tokens[i])
        i -= 1
    return total
