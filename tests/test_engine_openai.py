"""The `openai` backend against a real OpenAI-compatible server: llama-cpp-python's server
running the embedded model on a free loopback port."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from overlayagi.engine.errors import BackendUnavailableError, CapabilityError
from overlayagi.engine.openai_compat import OpenAICompatLLM
from overlayagi.engine.types import Message
from tests.conftest import free_port

pytestmark = pytest.mark.model

CAPITAL = [Message.user("What is the capital of France? Answer in one short sentence.")]


@pytest.fixture(scope="module")
def server_url(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as log_fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model_path),
                "--model_alias",
                "qwen-small",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--logits_all",
                "true",
            ],
            stdout=log_fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited early:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start within 120 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def remote(server_url: str) -> OpenAICompatLLM:
    return OpenAICompatLLM(server_url, "qwen-small", model_id="remote-qwen")


def test_ping_lists_models(remote: OpenAICompatLLM) -> None:
    assert "qwen-small" in remote.ping()


def test_chat(remote: OpenAICompatLLM) -> None:
    completion = remote.chat(CAPITAL, max_tokens=32, temperature=0.0)
    assert "Paris" in completion.text
    assert completion.model_id == "remote-qwen"
    assert completion.backend == "openai"
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0


async def test_stream_matches_chat(remote: OpenAICompatLLM) -> None:
    expected = remote.chat(CAPITAL, max_tokens=32, temperature=0.0).text
    stream = remote.stream(CAPITAL, max_tokens=32, temperature=0.0)
    deltas = [d async for d in stream]
    assert len(deltas) >= 3
    assert "".join(deltas) == expected
    assert stream.completion is not None and stream.completion.ttft_s is not None


def test_json_output_negotiates_the_servers_format(remote: OpenAICompatLLM) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    completion = remote.chat(
        [Message.user("Paris as JSON with city and country.")],
        max_tokens=60,
        temperature=0.0,
        schema=schema,
    )
    assert set(completion.parsed) == {"city", "country"}
    assert "Paris" in completion.parsed["city"]


def test_score_choices_sums_the_choice_tokens_prompt_logprobs(remote: OpenAICompatLLM) -> None:
    """Mechanics: the score is exp(sum of the server's logprobs for exactly the choice's tokens).

    The ranking itself is not asserted here: llama-cpp-python 0.3.36 reports wrong prompt
    (echo) logprobs even in-process, so its server cannot vouch for it. The embedded backend's
    ranking is tested in test_engine_llamacpp.py.
    """
    messages = [
        Message.user("Complete the sentence."),
        Message.assistant("The capital of France is"),
    ]
    prefix = remote._render(messages)
    for choice, n_tokens in ((" Paris", 1), (" Paris, of course", 4)):
        (score,) = remote.score_choices(messages, [choice])
        raw = httpx.post(
            f"{remote.base_url}/completions",
            json={
                "model": "qwen-small",
                "prompt": prefix + choice,
                "max_tokens": 1,
                "echo": True,
                "logprobs": 1,
                "temperature": 0.0,
            },
            timeout=60,
        ).json()
        n_prompt = raw["usage"]["prompt_tokens"]
        lp = raw["choices"][0]["logprobs"]
        assert "".join(lp["tokens"][n_prompt - n_tokens : n_prompt]) == choice
        expected = math.exp(sum(lp["token_logprobs"][n_prompt - n_tokens : n_prompt]))
        assert score == pytest.approx(expected, rel=1e-4)


def test_score_choices_without_logprobs_is_a_capability_error(
    remote: OpenAICompatLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_post = remote._post

    def no_logprobs(path: str, payload: dict) -> dict:  # type: ignore[type-arg]
        data = real_post(path, payload)
        data["choices"][0]["logprobs"] = None  # what Ollama-style servers send
        return data

    monkeypatch.setattr(remote, "_post", no_logprobs)
    with pytest.raises(CapabilityError, match="returned no prompt logprobs"):
        remote.score_choices([Message.user("x")], ["a"])


def test_unreachable_server_is_a_clear_retryable_error() -> None:
    dead = OpenAICompatLLM(f"http://127.0.0.1:{free_port()}/v1", "x", timeout_s=5)
    with pytest.raises(BackendUnavailableError) as info:
        dead.chat(CAPITAL, max_tokens=4)
    text = str(info.value)
    assert "cannot reach the server" in text
    assert "where: http://127.0.0.1:" in text
    assert "fix: start the server or correct base_url" in text


async def test_stream_stopped_early_is_marked_cancelled(remote: OpenAICompatLLM) -> None:
    stream = remote.stream([Message.user("Count from 1 to 100.")], max_tokens=200, temperature=0.0)
    async for _ in stream:
        break
    await stream.aclose()
    assert stream.completion is not None and stream.completion.finish_reason == "cancelled"
    full = remote.stream(CAPITAL, max_tokens=32, temperature=0.0)
    assert "Paris" in await full.text()
    assert full.completion is not None and full.completion.finish_reason == "stop"
