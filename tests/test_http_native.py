"""The native API (httpx against the ASGI app; scripted model for orchestration)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from overlayagi.engine.types import Message
from overlayagi.interfaces.http.app import create_app
from overlayagi.workspace import Workspace
from tests.fakes import FakeLLM
from tests.vault_fixture import build_vault


@pytest.fixture
def fake(workspace: Workspace) -> FakeLLM:
    def reply(messages: list[Message], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("schema") is not None:
            return {"verdict": "approve", "feedback": "fine"}
        return "the answer is 4"

    llm = FakeLLM(reply, model_id=workspace.config.engine.model)
    workspace._llms[(workspace.config.engine.model, None)] = llm
    return llm


@pytest.fixture
async def client(workspace: Workspace, fake: FakeLLM) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(workspace)), base_url="http://test"
    ) as http:
        yield http


def _events(text: str) -> list[tuple[str, str]]:
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = block.strip().split("\n")
        name = next((x[6:].strip() for x in lines if x.startswith("event:")), "message")
        data = "\n".join(x[5:].strip() for x in lines if x.startswith("data:"))
        if data:
            out.append((name, data))
    return out


async def test_run_lifecycle_events_trace_and_ledger(client: httpx.AsyncClient) -> None:
    started = (await client.post("/api/runs", json={"frame": "reflect", "input": "2+2?"})).json()
    run_id = started["run_id"]
    async with client.stream("GET", started["events"]) as response:
        text = "".join([c async for c in response.aiter_text()])
    events = _events(text)
    names = [n for n, _ in events]
    assert names[0] == "run_started" and "run_finished" in names and names[-1] == "end"
    finished = json.loads(next(d for n, d in events if n == "run_finished"))
    assert finished["status"] == "ok"

    run = (await client.get(f"/api/runs/{run_id}")).json()
    assert run["status"] == "ok" and run["output"] == "the answer is 4"
    phases = [c["name"].split(" ")[0] for c in run["trace"]["children"]]
    assert phases[:2] == ["draft", "review"]

    # The same run read back from the ledger after it left the live table.
    replay = await client.get(f"/api/runs/{run_id}/events")
    assert [n for n, _ in _events(replay.text)] == names
    records = (await client.get(f"/api/ledger/{run_id}")).json()
    assert records[0]["type"] == "run_started" and all(r["hash"] for r in records)
    assert (await client.get("/api/ledger/verify")).json()["ok"] is True
    listed = (await client.get("/api/runs")).json()
    assert listed[0]["run_id"] == run_id and listed[0]["status"] == "ok"


async def test_cancel_a_live_run(client: httpx.AsyncClient, fake: FakeLLM) -> None:
    fake.delay = 0.5
    started = (
        await client.post("/api/runs", json={"frame": "self_consistency", "input": "q"})
    ).json()
    await asyncio.sleep(0.1)
    cancelled = await client.post(f"/api/runs/{started['run_id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] in ("cancelled", "error")
    again = await client.post(f"/api/runs/{started['run_id']}/cancel")
    assert again.status_code == 409


async def test_bad_run_requests(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/runs", json={"frame": "nope", "input": "x"})
    assert missing.status_code in (400, 404) and "nope" in json.dumps(missing.json())
    empty = await client.post("/api/runs", json={"frame": "direct", "input": ""})
    assert empty.status_code == 422
    assert (await client.get("/api/runs/doesnotexist")).status_code == 404


async def test_frames(client: httpx.AsyncClient) -> None:
    frames = (await client.get("/api/frames")).json()
    ids = [f["id"] for f in frames["frames"]]
    assert {"reflect", "consilium", "vault_qa"} <= set(ids)
    reflect = (await client.get("/api/frames/reflect")).json()
    assert "kind: critique" in reflect["yaml"] and reflect["spec"]["id"] == "reflect"
    history = (await client.get("/api/frames/reflect/history")).json()
    assert history and history[0]["version"] == "1.0.0"
    bad = await client.post(
        "/api/frames/validate",
        json={"yaml": "id: mine\nversion: 1.0.0\nphases:\n  - id: a\n    kind: critque\n"},
    )
    assert bad.json()["ok"] is False and "critique" in " ".join(bad.json()["issues"])
    good = await client.post(
        "/api/frames/validate",
        json={"yaml": "id: mine\nversion: 1.0.0\nphases:\n  - id: a\n    kind: generate\n"},
    )
    assert good.json() == {"ok": True, "issues": []}


async def test_sessions(client: httpx.AsyncClient, workspace: Workspace) -> None:
    await client.post(
        "/v1/chat/completions",
        json={
            "model": workspace.config.engine.model,
            "user": "s1",
            "messages": [{"role": "user", "content": "hello"}],
        },
    )
    assert [s["name"] for s in (await client.get("/api/sessions")).json()] == ["s1"]
    session = (await client.get("/api/sessions/s1")).json()
    assert [m["role"] for m in session["messages"]] == ["user", "assistant"]
    assert (await client.delete("/api/sessions/s1")).status_code == 200
    assert (await client.get("/api/sessions/s1")).status_code == 404


async def test_vault_search_and_note(
    client: httpx.AsyncClient, workspace: Workspace, tmp_path: Path
) -> None:
    before = await client.get("/api/vault/search", params={"q": "tomatoes"})
    assert before.status_code == 409 and "no vault configured" in before.text
    workspace.config.vault.dense = False
    workspace.vault().ingest(build_vault(tmp_path / "vault"))
    found = (await client.get("/api/vault/search", params={"q": "water tomatoes", "k": 2})).json()
    assert found["hits"][0]["citation"] == "[[Tomatoes#Watering]]"
    note = (await client.get("/api/vault/note", params={"name": "Compost"})).json()
    assert note["path"] == "Garden/Compost.md"
    assert (await client.get("/api/vault/note", params={"name": "Nope"})).status_code == 404


async def test_openapi_is_complete(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = set(schema["paths"])
    for path in (
        "/v1/models",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/api/runs",
        "/api/runs/{run_id}/events",
        "/api/runs/{run_id}/cancel",
        "/api/frames/{frame_id}/history",
        "/api/vault/search",
        "/api/ledger/verify",
        "/health",
        "/metrics",
    ):
        assert path in paths, path
    request = schema["components"]["schemas"]["ChatCompletionRequest"]
    assert request.get("examples")
