"""The official OpenAI SDK against a live `overlay serve` with the embedded model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from tests.conftest import run_cli
from tests.live_server import live_server


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(
        tmp_path_factory.mktemp("serve") / "ws",
        OVERLAY_ENGINE__CONTEXT_SIZE="2048",
        OVERLAY_ENGINE__TEMPERATURE="0",
        OVERLAY_ENGINE__SEED="1",
    ) as url:
        yield url


def test_openai_sdk_end_to_end(server: str) -> None:
    client = OpenAI(base_url=f"{server}/v1", api_key="not-needed-on-loopback")
    ids = [m.id for m in client.models.list()]
    assert "overlay/direct" in ids and "overlay/reflect" in ids
    raw = next(i for i in ids if not i.startswith("overlay/"))

    reply = client.chat.completions.create(
        model=raw,
        messages=[{"role": "user", "content": "What is the capital of France? One word."}],
        max_tokens=8,
    )
    assert "Paris" in (reply.choices[0].message.content or "")

    pieces = []
    for chunk in client.chat.completions.create(
        model="overlay/direct",
        messages=[{"role": "user", "content": "What is the capital of France? One word."}],
        max_tokens=8,
        stream=True,
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    assert len(pieces) >= 1 and "Paris" in "".join(pieces)

    # Two requests in one session: the second sends only its own question.
    client.chat.completions.create(
        model=raw,
        user="sdk-session",
        messages=[{"role": "user", "content": "Remember this: my cat is called Pixel."}],
        max_tokens=16,
    )
    second = client.chat.completions.create(
        model=raw,
        user="sdk-session",
        messages=[{"role": "user", "content": "What is my cat called? Answer with the name."}],
        max_tokens=8,
    )
    assert "Pixel" in (second.choices[0].message.content or "")


def test_serve_refuses_to_bind_off_loopback_without_a_token(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--host", "0.0.0.0", "--port", "9", env={"OVERLAY_HOME": str(tmp_path / "ws")}
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr and "OVERLAY_API_TOKEN" in result.stderr
