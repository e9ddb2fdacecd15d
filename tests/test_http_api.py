"""The HTTP API against the ASGI app (httpx): auth, OpenAI shapes, SSE, sessions.

These test the server's orchestration, so the model is the scripted fake; the real model
answers in test_http_openai_sdk.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from overlayagi.engine.types import Message
from overlayagi.interfaces.http.app import create_app
from overlayagi.interfaces.http.security import ServeRefused, check_bind, is_loopback
from overlayagi.workspace import Workspace
from tests.fakes import FakeLLM


def echo(messages: list[Message], kwargs: dict[str, Any]) -> Any:
    if kwargs.get("schema") is not None:
        return {"answer": "forty-two"}
    last = messages[-1].content
    seen = " | ".join(m.content for m in messages if m.role != "system")
    return f"echo: {last} [context: {seen}]"


@pytest.fixture
def fake(workspace: Workspace) -> FakeLLM:
    llm = FakeLLM(echo, model_id=workspace.config.engine.model)
    workspace._llms[(workspace.config.engine.model, None)] = llm
    return llm


@pytest.fixture
async def client(workspace: Workspace, fake: FakeLLM) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(workspace)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_loopback_detection(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


def test_refuses_to_bind_off_loopback_without_a_token() -> None:
    with pytest.raises(ServeRefused, match=r"refusing to listen on 0\.0\.0\.0") as info:
        check_bind("0.0.0.0", None)
    assert "OVERLAY_API_TOKEN" in (info.value.fix or "")
    check_bind("0.0.0.0", "secret")
    check_bind("127.0.0.1", None)


async def test_token_is_enforced_everywhere_but_health(workspace: Workspace, fake: FakeLLM) -> None:
    app = create_app(workspace, token="s3cret")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        assert (await http.get("/health")).status_code == 200
        for path in ("/v1/models", "/metrics"):
            denied = await http.get(path)
            assert denied.status_code == 401 and "Bearer" in denied.json()["detail"]
            wrong = await http.get(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            ok = await http.get(path, headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200


async def test_models_list_frames_and_backends(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = (await client.get("/v1/models")).json()
    ids = [m["id"] for m in data["data"]]
    assert "overlay/reflect" in ids and "overlay/vault_qa" in ids
    assert workspace.config.engine.model in ids
    assert all(m["object"] == "model" for m in data["data"])


async def test_raw_model_chat_non_streaming(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    model = workspace.config.engine.model
    response = await client.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
    )
    body = response.json()
    assert response.status_code == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"].startswith("echo: hi")
    assert body["usage"]["total_tokens"] > 0
    assert response.headers["x-request-id"]


async def test_frame_chat_records_a_run(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "overlay/direct", "messages": [{"role": "user", "content": "hello"}]},
    )
    body = response.json()
    assert response.status_code == 200, body
    assert "hello" in body["choices"][0]["message"]["content"]
    run_id = body["overlay"]["run_id"]
    assert response.headers["x-overlay-run"] == run_id


def _sse_payloads(text: str) -> list[str]:
    events = [block for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    payloads = []
    for block in events:
        lines = [line for line in block.split("\n") if line.startswith("data:")]
        assert lines, f"an SSE event without data: {block!r}"
        payloads.append("\n".join(line[5:].strip() for line in lines))
    return payloads


async def test_streaming_is_well_formed_sse(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    async with client.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": workspace.config.engine.model,
            "stream": True,
            "messages": [{"role": "user", "content": "stream me"}],
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join([chunk async for chunk in response.aiter_text()])
    payloads = _sse_payloads(text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert content.startswith("echo: stream me")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["usage"]


async def test_a_session_carries_the_conversation(
    client: httpx.AsyncClient, workspace: Workspace, fake: FakeLLM
) -> None:
    model = workspace.config.engine.model
    for text in ("my name is Ada", "what is my name?"):
        response = await client.post(
            "/v1/chat/completions",
            json={"model": model, "user": "ada", "messages": [{"role": "user", "content": text}]},
        )
        assert response.status_code == 200
    # The second request sent only its own message; the session supplied the first.
    last_prompt = [m.content for m in fake.calls[-1]["messages"]]
    assert "my name is Ada" in last_prompt and "what is my name?" in last_prompt
    stored = workspace.store().get_session("ada")
    assert stored is not None
    messages = workspace.store().messages(stored.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    # The header names a session too, and wins over `user`.
    await client.post(
        "/v1/chat/completions",
        headers={"X-Overlay-Session": "other"},
        json={"model": model, "user": "ada", "messages": [{"role": "user", "content": "x"}]},
    )
    assert workspace.store().get_session("other") is not None


async def test_response_format_is_honoured(
    client: httpx.AsyncClient, workspace: Workspace, fake: FakeLLM
) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    response = await client.post(
        "/v1/chat/completions",
        json={
            "model": workspace.config.engine.model,
            "messages": [{"role": "user", "content": "q"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "a", "schema": schema},
            },
        },
    )
    assert json.loads(response.json()["choices"][0]["message"]["content"]) == {
        "answer": "forty-two"
    }
    assert fake.calls[-1]["schema"] == schema
    bad = await client.post(
        "/v1/chat/completions",
        json={
            "model": workspace.config.engine.model,
            "messages": [{"role": "user", "content": "q"}],
            "response_format": {"type": "xml"},
        },
    )
    assert (
        bad.status_code == 422 and "unsupported response_format" in bad.json()["error"]["message"]
    )


async def test_unknown_model_is_an_openai_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "overlay/nope", "messages": [{"role": "user", "content": "q"}]},
    )
    assert response.status_code == 404
    assert "no frame named 'nope'" in response.json()["error"]["message"]


async def test_metrics(client: httpx.AsyncClient, workspace: Workspace) -> None:
    await client.get("/v1/models")
    await client.post(
        "/v1/chat/completions",
        json={"model": "overlay/direct", "messages": [{"role": "user", "content": "hello"}]},
    )
    text = (await client.get("/metrics")).text
    assert 'overlay_http_requests_total{method="GET",route="/v1/models",status="200"}' in text
    assert 'overlay_run_seconds_count{frame="direct",status="ok"} 1.0' in text
    assert "overlay_llm_tokens_total{" in text and 'kind="completion"' in text
    assert "overlay_cache_events_total" in text or "overlay_cache_events" in text


async def test_echo_backend_is_opt_in_for_benchmarks(workspace: Workspace) -> None:
    """The benchmarking-only `echo` backend exists only when configured, never by default."""
    from overlayagi.config import EchoModelConfig

    assert "echo" not in workspace.model_names()
    workspace.config.models["echo"] = EchoModelConfig(backend="echo")
    app = create_app(workspace)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        body = (
            await http.post(
                "/v1/chat/completions",
                json={"model": "echo", "messages": [{"role": "user", "content": "ping 1"}]},
            )
        ).json()
    assert body["choices"][0]["message"]["content"] == "ping 1"
