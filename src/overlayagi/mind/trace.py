"""A run's structured trace: the flat event stream rebuilt as a tree.

run → phases (in order) → LLM calls, tool calls, decisions, and sub-runs started by ``call``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from overlayagi.mind.events import (
    Decision,
    Event,
    LLMCall,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunStarted,
    ToolCall,
)

NodeKind = Literal["run", "phase", "llm_call", "tool_call", "decision"]


class TraceNode(BaseModel):
    kind: NodeKind
    name: str
    status: str | None = None
    duration_s: float | None = None
    llm_calls: int = 0
    tokens: int = 0
    detail: dict[str, Any] = Field(default_factory=dict)
    children: list[TraceNode] = Field(default_factory=list)

    def walk(self) -> list[TraceNode]:
        nodes = [self]
        for child in self.children:
            nodes += child.walk()
        return nodes


def _leaf(event: Event) -> TraceNode:
    if isinstance(event, LLMCall):
        tokens = event.prompt_tokens + event.completion_tokens
        name = f"{event.purpose} · {event.model}" + (f" · {event.role}" if event.role else "")
        return TraceNode(
            kind="llm_call",
            name=name,
            status="error" if event.error else "ok",
            duration_s=event.latency_s,
            llm_calls=1,
            tokens=tokens,
            detail=event.model_dump(mode="json", by_alias=True),
        )
    if isinstance(event, ToolCall):
        status = "refused" if event.refused else ("error" if event.error else "ok")
        return TraceNode(
            kind="tool_call",
            name=event.name,
            status=status,
            duration_s=event.duration_s,
            detail=event.model_dump(mode="json"),
        )
    assert isinstance(event, Decision)
    chosen = event.options[event.chosen] if event.chosen is not None and event.options else None
    return TraceNode(
        kind="decision",
        name=f"{event.kind} → {chosen!s:.60}",
        detail=event.model_dump(mode="json"),
    )


def build_trace(events: Sequence[Event], run_id: str) -> TraceNode:
    """The tree of ``run_id`` (and of the sub-runs it started)."""
    started = next((e for e in events if isinstance(e, RunStarted) and e.run_id == run_id), None)
    finished = next((e for e in events if isinstance(e, RunFinished) and e.run_id == run_id), None)
    root = TraceNode(
        kind="run",
        name=started.frame if started else run_id,
        status=f"{finished.status} ({finished.reason})" if finished else "interrupted",
        duration_s=finished.duration_s if finished else None,
        detail={
            "run_id": run_id,
            "input": started.input if started else None,
            "output": finished.output if finished else None,
        },
    )
    phases: dict[str, TraceNode] = {}
    for event in events:
        if event.run_id != run_id and not (
            isinstance(event, RunStarted) and event.parent_run_id == run_id
        ):
            continue
        if isinstance(event, PhaseStarted) and event.span:
            node = TraceNode(
                kind="phase",
                name=f"{event.phase} ({event.kind} #{event.iteration})",
                status="running",
            )
            phases[event.span] = node
            root.children.append(node)
        elif isinstance(event, PhaseFinished) and event.span in phases:
            node = phases[event.span]
            node.status, node.duration_s = "ok", event.duration_s
            node.detail = {"output": event.output, "next": event.next}
        elif isinstance(event, RunStarted) and event.run_id != run_id:
            sub = build_trace(events, event.run_id)
            parent = phases.get(event.parent_span or "")
            (parent.children if parent else root.children).append(sub)
        elif isinstance(event, LLMCall | ToolCall | Decision):
            leaf = _leaf(event)
            parent = phases.get(event.span or "")
            (parent.children if parent else root.children).append(leaf)
    _total(root)
    return root


def _total(node: TraceNode) -> tuple[int, int]:
    if node.kind == "llm_call":
        return node.llm_calls, node.tokens
    calls = tokens = 0
    for child in node.children:
        c, t = _total(child)
        calls, tokens = calls + c, tokens + t
    node.llm_calls, node.tokens = calls, tokens
    return calls, tokens
