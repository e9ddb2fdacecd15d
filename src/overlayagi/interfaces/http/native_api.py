"""The native API: sessions, runs (with live events over SSE), frames, memory, the ledger."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse

from overlayagi.errors import OverlayError
from overlayagi.interfaces.http.runs import RunManager
from overlayagi.memory.ledger import event_dict, verify
from overlayagi.memory.vault.search import Filters
from overlayagi.mind.history import run_events
from overlayagi.mind.trace import build_trace
from overlayagi.workspace import Workspace

router = APIRouter(prefix="/api")


def _ws(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def _runs(request: Request) -> RunManager:
    runs: RunManager = request.app.state.runs
    return runs


def _problem(exc: OverlayError, status: int = 400) -> HTTPException:
    detail = {"error": exc.what, "where": exc.where, "fix": exc.fix}
    return HTTPException(status, detail={k: v for k, v in detail.items() if v})


# -- sessions ---------------------------------------------------------------------------------
@router.get("/sessions", tags=["sessions"], summary="Chat sessions, newest first")
async def list_sessions(request: Request) -> list[dict[str, Any]]:
    return [dataclasses.asdict(s) for s in _ws(request).store().list_sessions()]


@router.get("/sessions/{name}", tags=["sessions"], summary="A session with its messages")
async def get_session(name: str, request: Request) -> dict[str, Any]:
    store = _ws(request).store()
    info = store.get_session(name)
    if info is None:
        raise HTTPException(404, detail={"error": f"no session '{name}'"})
    return {
        **dataclasses.asdict(info),
        "messages": [dataclasses.asdict(m) for m in store.messages(info.id)],
        "summaries": [dataclasses.asdict(s) for s in store.summaries(info.id)],
    }


@router.delete("/sessions/{name}", tags=["sessions"], summary="Delete a session")
async def delete_session(name: str, request: Request) -> dict[str, Any]:
    if not _ws(request).store().delete_session(name):
        raise HTTPException(404, detail={"error": f"no session '{name}'"})
    return {"deleted": name}


# -- runs -------------------------------------------------------------------------------------
class RunRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"frame": "reflect", "input": "Why is the sky blue?"}]}
    )

    frame: str = Field(description="A frame id, or frame://ID@VERSION.")
    input: str = Field(min_length=1)
    goal: str | None = None
    seed: int | None = None


@router.post("/runs", tags=["runs"], summary="Start a run; follow it at /api/runs/{id}/events")
async def start_run(body: RunRequest, request: Request) -> dict[str, Any]:
    try:
        run = _runs(request).start(body.frame, body.input, goal=body.goal, seed=body.seed)
    except OverlayError as exc:
        raise _problem(exc, 404 if "no frame" in exc.what.lower() else 400) from exc
    return {"run_id": run.run_id, "frame": run.frame, "events": f"/api/runs/{run.run_id}/events"}


@router.get("/runs", tags=["runs"], summary="Recent runs from the ledger")
async def list_runs(
    request: Request, limit: int = Query(50, ge=1, le=1000)
) -> list[dict[str, Any]]:
    out = []
    for run in _ws(request).store().runs(limit):
        item = dataclasses.asdict(run)
        item["status"] = run.shown_status
        out.append(item)
    return out


@router.get("/runs/{run_id}", tags=["runs"], summary="A run: status, output and its trace tree")
async def get_run(run_id: str, request: Request) -> dict[str, Any]:
    runs = _runs(request)
    live = runs.live.get(run_id)
    if live is not None:
        trace = build_trace(live.events, live.run_id) if live.events else None
        return {**runs.summary(live), "trace": trace.model_dump() if trace else None}
    store = _ws(request).store()
    info = store.run(run_id)
    if info is None:
        raise HTTPException(404, detail={"error": f"no run '{run_id}'"})
    events = run_events(store, info.run_id)
    trace = build_trace(events, info.run_id) if events else None
    return {
        "run_id": info.run_id,
        "frame": info.frame,
        "live": False,
        "status": info.shown_status,
        "reason": info.reason,
        "trace": trace.model_dump() if trace else None,
    }


@router.get("/runs/{run_id}/events", tags=["runs"], summary="The run's events as SSE")
async def run_events_sse(run_id: str, request: Request) -> EventSourceResponse:
    runs = _runs(request)
    if run_id in runs.live:
        source: AsyncIterator[Any] = runs.follow(run_id)
    else:
        info = _ws(request).store().run(run_id)
        if info is None:
            raise HTTPException(404, detail={"error": f"no run '{run_id}'"})
        past = run_events(_ws(request).store(), info.run_id)

        async def replay() -> AsyncIterator[Any]:
            for event in past:
                yield event

        source = replay()

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for event in source:
            yield {"event": event.type, "data": event.model_dump_json()}
        yield {"event": "end", "data": json.dumps({"run_id": run_id})}

    return EventSourceResponse(stream(), ping=15)


@router.post("/runs/{run_id}/cancel", tags=["runs"], summary="Cancel a live run")
async def cancel_run(run_id: str, request: Request) -> dict[str, Any]:
    runs = _runs(request)
    if not runs.cancel(run_id):
        raise HTTPException(409, detail={"error": f"run '{run_id}' is not running here"})
    task = runs.live[run_id].task
    if task is not None:
        await asyncio.wait([task], timeout=10)
    return runs.summary(runs.live[run_id])


# -- frames -----------------------------------------------------------------------------------
@router.get("/frames", tags=["frames"], summary="Frames, and the problems of invalid files")
async def list_frames(request: Request) -> dict[str, Any]:
    frames = _ws(request).frame_library().refresh()
    return {
        "frames": [
            {
                "id": fid,
                "version": str(loaded.frame.version),
                "description": loaded.frame.description,
                "cost": loaded.frame.cost,
                "source": loaded.source,
            }
            for fid, loaded in sorted(frames.items())
        ],
        "errors": {fid: [str(i) for i in issues] for fid, issues in frames.errors.items()},
    }


@router.get("/frames/{frame_id}", tags=["frames"], summary="A frame: YAML and parsed spec")
async def get_frame(frame_id: str, request: Request) -> dict[str, Any]:
    frames = _ws(request).frame_library().refresh()
    if frame_id not in frames:
        raise HTTPException(404, detail={"error": f"no frame '{frame_id}'"})
    loaded = frames[frame_id]
    return {
        "id": frame_id,
        "yaml": loaded.text,
        "sha256": loaded.sha256,
        "spec": loaded.frame.model_dump(mode="json", by_alias=True),
    }


class ValidateRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"yaml": "id: mine\nversion: 1.0.0\nphases: []\n"}]}
    )

    yaml: str


@router.post("/frames/validate", tags=["frames"], summary="Check frame YAML; nothing is saved")
async def validate_frame(body: ValidateRequest, request: Request) -> dict[str, Any]:
    try:
        data = yaml.safe_load(body.yaml)
    except yaml.YAMLError:
        data = None
    fid = data.get("id") if isinstance(data, dict) else None
    name = f"{fid}.yaml" if isinstance(fid, str) and re.fullmatch(r"[\w-]+", fid) else "frame.yaml"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name  # a frame's file is named after its id
        path.write_text(body.yaml, encoding="utf-8")
        issues = _ws(request).frame_library().validate([path])[path]
    return {"ok": not issues, "issues": [str(i).replace(str(path), name) for i in issues]}


@router.get("/frames/{frame_id}/history", tags=["frames"], summary="Committed versions")
async def frame_history(frame_id: str, request: Request) -> list[dict[str, Any]]:
    versions = _ws(request).frame_repo().history(frame_id)
    return [
        {
            "commit": v.commit,
            "time": v.time.isoformat(),
            "message": v.message,
            "version": v.version,
        }
        for v in versions
    ]


# -- memory -----------------------------------------------------------------------------------
@router.get("/vault/search", tags=["memory"], summary="Hybrid search over the indexed vault")
async def vault_search(
    request: Request,
    q: str = Query(min_length=1),
    k: int = Query(5, ge=1, le=50),
    folder: str | None = None,
    tag: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    vault = _ws(request).vault()
    try:
        result = await asyncio.to_thread(
            vault.search, q, k=k, filters=Filters(folder=folder, tag=tag, since=since, until=until)
        )
    except OverlayError as exc:
        raise _problem(exc, 409) from exc
    return result.as_dict()


@router.get("/vault/note", tags=["memory"], summary="A note (or one heading) as indexed")
async def vault_note(
    request: Request, name: str = Query(min_length=1), heading: str | None = None
) -> dict[str, Any]:
    try:
        note = _ws(request).vault().read(name, heading)
    except OverlayError as exc:
        raise _problem(exc, 404) from exc
    return dataclasses.asdict(note)


@router.get("/insights", tags=["memory"], summary="Insights, or those relevant to q")
async def insights(request: Request, q: str | None = None, k: int = 10) -> list[dict[str, Any]]:
    ws = _ws(request)
    found = ws.insights().relevant(q, k=k) if q else ws.store().list_insights()
    return [{k2: v for k2, v in dataclasses.asdict(i).items() if k2 != "vector"} for i in found]


# -- ledger -----------------------------------------------------------------------------------
@router.get("/ledger/verify", tags=["ledger"], summary="Check the hash chain")
async def ledger_verify(request: Request, run_id: str | None = None) -> dict[str, Any]:
    verdict = verify(_ws(request).store(), run_id)
    return dataclasses.asdict(verdict)


@router.get("/ledger/{run_id}", tags=["ledger"], summary="A run's ledger records")
async def ledger_show(run_id: str, request: Request) -> list[dict[str, Any]]:
    store = _ws(request).store()
    info = store.run(run_id)
    if info is None:
        raise HTTPException(404, detail={"error": f"no run '{run_id}'"})
    return [
        {"id": r.id, "hash": r.hash, "prev_hash": r.prev_hash, **event_dict(r)}
        for r in store.ledger(info.run_id)
    ]
