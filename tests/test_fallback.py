"""Fallback: orchestration with a scripted fake, and the real case (dead server → embedded)."""

from __future__ import annotations

import logging

import pytest

from overlayagi.engine.errors import BackendError, BackendUnavailableError
from overlayagi.engine.fallback import FallbackLLM
from overlayagi.engine.types import Message
from overlayagi.workspace import Workspace
from tests.conftest import free_port
from tests.fakes import ScriptedLLM

HI = [Message.user("hi")]


def down(n: int) -> list[Exception]:
    return [BackendUnavailableError("connection refused") for _ in range(n)]


def test_retry_then_next_model() -> None:
    first, second = ScriptedLLM("a", errors=down(5)), ScriptedLLM("b", answer="from b")
    chain = FallbackLLM([first, second], retries=2, backoff_s=0)
    completion = chain.chat(HI)
    assert completion.text == "from b" and completion.model_id == "b"
    assert first.calls == 3  # bounded: 1 try + 2 retries
    assert [a.model_id for a in completion.attempts] == ["a"]


def test_a_retry_that_succeeds_stays_on_the_first_model() -> None:
    first, second = ScriptedLLM("a", errors=down(1)), ScriptedLLM("b")
    completion = FallbackLLM([first, second], retries=1, backoff_s=0).chat(HI)
    assert completion.model_id == "a" and not completion.attempts and second.calls == 0


def test_errors_a_retry_cannot_fix_do_not_fall_back() -> None:
    first, second = ScriptedLLM("a", errors=[BackendError("HTTP 400")]), ScriptedLLM("b")
    with pytest.raises(BackendError):
        FallbackLLM([first, second], backoff_s=0).chat(HI)
    assert second.calls == 0


def test_all_down_names_every_model() -> None:
    chain = FallbackLLM([ScriptedLLM("a", down(9)), ScriptedLLM("b", down(9))], backoff_s=0)
    with pytest.raises(BackendUnavailableError, match=r"a: connection refused; b: connection"):
        chain.chat(HI)


async def test_stream_falls_over_before_first_delta() -> None:
    chain = FallbackLLM(
        [ScriptedLLM("a", down(9)), ScriptedLLM("b", answer="one two")], retries=0, backoff_s=0
    )
    stream = chain.stream(HI)
    assert "".join([d async for d in stream]).split() == ["one", "two"]
    assert stream.completion is not None and stream.completion.model_id == "b"
    assert [a.model_id for a in stream.completion.attempts] == ["a"]


@pytest.mark.model
def test_dead_server_falls_back_to_embedded_model(
    workspace: Workspace,
    model_path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    port = free_port()
    workspace.config_path.write_text(
        f"""
[engine]
model = "remote"
fallback = ["qwen2.5-coder-0.5b"]
retries = 1
context_size = 2048

[models.remote]
backend = "openai"
base_url = "http://127.0.0.1:{port}/v1"
model = "whatever"
timeout_s = 5
"""
    )
    ws = Workspace.open(workspace.root)
    llm = ws.build_llm()
    with caplog.at_level(logging.WARNING, logger="overlayagi.engine.fallback"):
        completion = llm.chat(
            [Message.user("What is the capital of France?")], max_tokens=24, temperature=0.0
        )
    assert "Paris" in completion.text
    assert completion.model_id == "qwen2.5-coder-0.5b"
    assert completion.attempts[0].model_id == "remote"
    assert "cannot reach the server" in completion.attempts[0].error
    assert "served by fallback model qwen2.5-coder-0.5b" in caplog.text
