"""Every step of a run as a typed event, and the ``EventSink`` seam that records them.

Events carry ``run_id`` and ``span`` (the phase execution they belong to) so a flat stream can
be rebuilt into a tree (``trace.py``). ``PhaseFinished`` carries the phase's full output: it is
the keyframe from which a run can be continued.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field, TypeAdapter

RunStatus = Literal["ok", "stopped", "cancelled", "error"]


class _Event(BaseModel):
    run_id: str
    seq: int = 0
    ts: float = Field(default_factory=time.time)
    span: str | None = None
    parent_span: str | None = None


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    frame: str
    frame_sha256: str
    input: str
    goal: str | None = None
    parent_run_id: str | None = None
    depth: int = 0
    model: str
    seed: int | None = None


class PhaseStarted(_Event):
    type: Literal["phase_started"] = "phase_started"
    phase: str
    kind: str
    iteration: int
    step: int


class PhaseFinished(_Event):
    type: Literal["phase_finished"] = "phase_finished"
    phase: str
    kind: str
    iteration: int
    output: dict[str, Any]
    next: str
    duration_s: float


class LLMCall(_Event):
    type: Literal["llm_call"] = "llm_call"
    call_id: str
    phase: str
    role: str | None = None
    purpose: str = "generate"
    model: str
    messages: list[dict[str, str]]
    params: dict[str, Any]
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    response: str | None = None
    choices: list[str] | None = None
    scores: list[float] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: str | None = None
    error: str | None = None

    model_config = {"populate_by_name": True}


class ToolCall(_Event):
    type: Literal["tool_call"] = "tool_call"
    phase: str
    name: str
    arguments: dict[str, Any]
    result: str | None = None
    refused: bool = False
    error: bool = False
    duration_s: float = 0.0


class Decision(_Event):
    type: Literal["decision"] = "decision"
    phase: str
    kind: str
    options: list[str]
    chosen: int | None
    scores: list[float] | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class Keyframe(_Event):
    """The whole state a run needs to continue after ``phase``: written at each phase end."""

    type: Literal["keyframe"] = "keyframe"
    phase: str
    next: str
    state: dict[str, Any]
    budget: dict[str, int]
    call_counter: int


class RunResumed(_Event):
    type: Literal["run_resumed"] = "run_resumed"
    from_phase: str
    reused_calls: int


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    status: RunStatus
    reason: str
    output: str
    llm_calls: int
    tokens: int
    duration_s: float


Event = Annotated[
    RunStarted
    | PhaseStarted
    | PhaseFinished
    | LLMCall
    | ToolCall
    | Decision
    | Keyframe
    | RunResumed
    | RunFinished,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def event_json(event: BaseModel) -> str:
    return event.model_dump_json(by_alias=True)


def parse_event(line: str | dict[str, Any]) -> Event:
    if isinstance(line, str):
        return EVENT_ADAPTER.validate_json(line)
    return EVENT_ADAPTER.validate_python(line)


@runtime_checkable
class EventSink(Protocol):
    """Receives every event of a run, in order. ``emit`` must be quick and must not raise for
    ordinary events; the ledger, the JSONL file and the in-memory list all implement it."""

    def emit(self, event: Event) -> None: ...


class MemorySink:
    """Keeps events in a list (tests, the CLI's trace)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of_type(self, kind: type[BaseModel]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class JsonlSink:
    """Appends one JSON object per line, flushed per event."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self._file.write(event_json(event) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


class FanoutSink:
    """Sends each event to several sinks."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.emit(event)
