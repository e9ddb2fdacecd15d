"""Plain records that cross the ``Store`` seam."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

InsightKind = Literal["fact", "preference", "decision", "question"]


@dataclass(frozen=True)
class SessionInfo:
    id: int
    name: str
    created: float
    updated: float
    persona: str | None = None
    messages: int = 0


@dataclass(frozen=True)
class StoredMessage:
    id: int
    session_id: int
    role: str
    content: str
    tokens: int
    created: float
    run_id: str | None = None


@dataclass(frozen=True)
class Summary:
    id: int
    session_id: int
    first_message_id: int
    last_message_id: int
    text: str
    tokens: int
    created: float


@dataclass
class Insight:
    key: str
    kind: str
    text: str
    confidence: float
    sources: list[int] = field(default_factory=list)
    pinned: bool = False
    embedder: str | None = None
    vector: bytes | None = None
    created: float = 0.0
    updated: float = 0.0


@dataclass(frozen=True)
class LedgerRecord:
    id: int
    run_id: str
    seq: int
    ts: float
    type: str
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    frame: str
    parent_run_id: str | None
    input: str
    started: float
    finished: float | None
    status: str | None
    reason: str | None

    @property
    def shown_status(self) -> str:
        return self.status or "interrupted"


@dataclass
class CachedAnswer:
    id: int
    frame: str
    model: str
    question: str
    question_sha256: str
    answer: str
    cited: dict[str, str]
    created: float
    expires: float
    embedder: str | None = None
    vector: bytes | None = None
    hits: int = 0


@dataclass(frozen=True)
class NewLedgerEntry:
    run_id: str
    seq: int
    ts: float
    type: str
    payload: dict[str, Any]
