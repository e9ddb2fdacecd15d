"""The context map: the twin's memory as one portable JSON file, and git snapshots of it.

``export`` writes insights and every session's rolling summaries (``messages=True`` adds the
full turns); ``import`` merges such a file into another workspace (insights by key, sessions
by name), re-embedding with that workspace's embedder. ``snapshot`` commits a readable copy —
insights, session summaries and the profile lock — to a git repository in the workspace, so
the twin's evolution can be diffed over time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from overlayagi.gitfolder import GitFolder
from overlayagi.memory.errors import StoreError
from overlayagi.memory.insights import InsightMemory
from overlayagi.memory.records import Insight
from overlayagi.memory.store import Store

FORMAT: Literal["overlay-context-map"] = "overlay-context-map"


class MapInsight(BaseModel):
    key: str
    kind: str
    text: str
    confidence: float = Field(ge=0, le=1)
    pinned: bool = False
    sources: list[int] = Field(default_factory=list)


class MapSummary(BaseModel):
    first_message_id: int
    last_message_id: int
    text: str


class MapMessage(BaseModel):
    id: int | None = None
    role: Literal["system", "user", "assistant"]
    content: str


class MapSession(BaseModel):
    name: str
    summaries: list[MapSummary] = Field(default_factory=list)
    messages: list[MapMessage] = Field(default_factory=list)


class ContextMap(BaseModel):
    format: Literal["overlay-context-map"] = FORMAT
    version: int = 1
    exported_at: float
    insights: list[MapInsight]
    sessions: list[MapSession]


def build(store: Store, *, messages: bool = False) -> ContextMap:
    sessions = []
    for info in store.list_sessions():
        sessions.append(
            MapSession(
                name=info.name,
                summaries=[
                    MapSummary(
                        first_message_id=s.first_message_id,
                        last_message_id=s.last_message_id,
                        text=s.text,
                    )
                    for s in store.summaries(info.id)
                ],
                messages=[
                    MapMessage(id=m.id, role=m.role, content=m.content)
                    for m in store.messages(info.id)
                ]
                if messages
                else [],
            )
        )
    insights = [
        MapInsight(
            key=i.key,
            kind=i.kind,
            text=i.text,
            confidence=i.confidence,
            pinned=i.pinned,
            sources=i.sources,
        )
        for i in store.list_insights()
    ]
    return ContextMap(exported_at=time.time(), insights=insights, sessions=sessions)


def read(path: Path) -> ContextMap:
    try:
        return ContextMap.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}", where=str(path)) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise StoreError(
            f"{path} is not a valid context map: {field}: {first['msg']}",
            where=f"{path} → {field}",
            fix="use a file written by `overlay memory export`",
        ) from exc


def import_map(store: Store, insights: InsightMemory, data: ContextMap) -> dict[str, int]:
    """Merge ``data`` into ``store``; returns counts of what was added."""
    merged = insights.merge(
        [
            Insight(
                key=i.key,
                kind=i.kind,
                text=i.text,
                confidence=i.confidence,
                pinned=i.pinned,
                sources=[],
            )
            for i in data.insights
        ]
    )
    for result, source in zip(merged, data.insights, strict=True):
        if source.pinned and not result.insight.pinned:
            result.insight.pinned = True
            store.upsert_insight(result.insight)
    sessions = messages = 0
    for session in data.sessions:
        info = store.ensure_session(session.name)
        new_ids: dict[int, int] = {}
        if session.messages and info.messages == 0:
            stored = store.add_messages(info.id, [(m.role, m.content, 0) for m in session.messages])
            new_ids = {m.id: s.id for m, s in zip(session.messages, stored, strict=True) if m.id}
            messages += len(stored)
        if session.summaries and store.latest_summary(info.id) is None:
            last = session.summaries[-1]
            # Without its messages, a summary stands for history that lives elsewhere (0–0).
            end = new_ids.get(last.last_message_id, 0)
            start = new_ids.get(last.first_message_id, 0) if end else 0
            store.add_summary(info.id, start, end, last.text, 0)
        sessions += 1
    return {"insights": len(merged), "sessions": sessions, "messages": messages}


def snapshot(store: Store, folder: Path, lock_file: Path | None) -> str | None:
    """Write a readable copy of memory into ``folder`` and commit it; ``None`` if unchanged."""
    repo = GitFolder(folder)
    files: dict[str, str] = {}
    lines = ["# Insights", ""]
    for i in store.list_insights():
        pin = " 📌" if i.pinned else ""
        lines.append(f"- **{i.key}** ({i.kind}, {i.confidence:.2f}){pin}: {i.text}")
    files["insights.md"] = "\n".join(lines) + "\n"
    for info in store.list_sessions():
        summaries = store.summaries(info.id)
        body = [f"# Session {info.name}", "", f"{info.messages} messages", ""]
        for s in summaries:
            body += [f"## Messages {s.first_message_id}–{s.last_message_id}", "", s.text, ""]
        files[f"sessions/{info.name}.md"] = "\n".join(body)
    if lock_file is not None and lock_file.exists():
        files["overlay.lock"] = lock_file.read_text(encoding="utf-8")
    files["context-map.json"] = build(store).model_dump_json(indent=1, exclude={"exported_at"})
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return repo.commit_changes(files, "memory snapshot")


def dump(data: ContextMap) -> str:
    return json.dumps(data.model_dump(), ensure_ascii=False, indent=1)
