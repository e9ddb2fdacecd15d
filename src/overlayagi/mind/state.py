"""What a run knows while it runs: phase outputs, visits, the answer so far."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from overlayagi.engine.protocols import LLM
from overlayagi.frames.library import FrameSet, LoadedFrame
from overlayagi.frames.spec import Phase, PhaseKind
from overlayagi.mind.budget import Budget
from overlayagi.mind.events import Event, EventSink
from overlayagi.mind.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from overlayagi.mind.runner import RunResult


class PhaseOutput(BaseModel):
    """One phase execution's result. Templates see it as a dict (``outputs.<id>.text``)."""

    phase: str
    kind: str
    iteration: int
    text: str = ""
    raw: str | None = None
    sections: dict[str, str] = Field(default_factory=dict)
    data: Any = None
    samples: list[str] = Field(default_factory=list)
    sample_roles: list[str | None] = Field(default_factory=list)


class MemoryHooks(Protocol):
    """What the runner asks of memory. Implemented by the memory layer once it is configured."""

    async def retrieve(self, query: str, *, k: int, sources: list[str]) -> list[dict[str, Any]]:
        """Hits as dicts with at least ``text`` and ``citation``."""
        ...


LLMProvider = Callable[[str | None, str | None], LLM]
"""(model name or None for the default, adapter path or None) → an LLM."""


@dataclass
class Shared:
    """Everything a root run and its ``call`` sub-runs share."""

    frames: FrameSet
    llm_for: LLMProvider
    tools: ToolRegistry
    memory: MemoryHooks | None
    sink: EventSink
    budget: Budget
    semaphore: asyncio.Semaphore
    max_tokens: int
    temperature: float
    seed: int | None
    on_delta: Callable[[str], None] | None
    run_sub: Callable[..., Any] | None = None
    seq: dict[str, int] = field(default_factory=dict)
    call_counter: int = 0
    recorded: dict[str, list[Any]] = field(default_factory=dict)
    """On resume: calls made after the last keyframe, by request key, answered from the ledger."""

    def emit(self, event: Event) -> None:
        n = self.seq.get(event.run_id, 0)
        event.seq = n
        self.seq[event.run_id] = n + 1
        self.sink.emit(event)

    def next_seed(self) -> int | None:
        self.call_counter += 1
        return None if self.seed is None else self.seed + self.call_counter - 1


@dataclass
class RunContext:
    """One (sub-)run of one frame."""

    run_id: str
    loaded: LoadedFrame
    input: str
    goal: str | None
    depth: int
    parent_span: str | None
    outputs: dict[str, PhaseOutput] = field(default_factory=dict)
    visits: dict[str, list[PhaseOutput]] = field(default_factory=dict)
    answer: str = ""
    answer_phase: str | None = None
    feedback: str = ""
    state: str = ""
    memory: list[dict[str, Any]] = field(default_factory=list)
    sub_results: list[RunResult] = field(default_factory=list)

    @property
    def frame(self) -> Any:
        return self.loaded.frame

    def record(self, phase: Phase, output: PhaseOutput) -> None:
        self.outputs[phase.id] = output
        self.visits.setdefault(phase.id, []).append(output)
        if phase.is_answer and output.text:
            self.answer, self.answer_phase = output.text, phase.id
        if phase.kind == PhaseKind.CRITIQUE:
            self.feedback = output.text
        if phase.kind == PhaseKind.COLLAPSE:
            self.state = output.text
        if phase.kind == PhaseKind.RETRIEVE and isinstance(output.data, list):
            self.memory = output.data

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue this run (what a keyframe stores)."""
        return {
            "outputs": {k: v.model_dump(mode="json") for k, v in self.outputs.items()},
            "visits": {k: [o.model_dump(mode="json") for o in v] for k, v in self.visits.items()},
            "answer": self.answer,
            "answer_phase": self.answer_phase,
            "feedback": self.feedback,
            "state": self.state,
            "memory": self.memory,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        self.outputs = {k: PhaseOutput.model_validate(v) for k, v in saved["outputs"].items()}
        self.visits = {
            k: [PhaseOutput.model_validate(o) for o in v] for k, v in saved["visits"].items()
        }
        self.answer = saved["answer"]
        self.answer_phase = saved["answer_phase"]
        self.feedback = saved["feedback"]
        self.state = saved["state"]
        self.memory = saved["memory"]

    def iteration(self, phase_id: str) -> int:
        return len(self.visits.get(phase_id, ())) + 1

    def variables(self, phase: Phase | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        frame = self.frame
        return {
            "input": self.input,
            "goal": self.goal or self.input,
            "persona": frame.persona or "",
            "outputs": {k: v.model_dump() for k, v in self.outputs.items()},
            "visits": {k: [o.model_dump() for o in v] for k, v in self.visits.items()},
            "answer": self.answer,
            "feedback": self.feedback,
            "state": self.state,
            "iteration": self.iteration(phase.id) if phase else 0,
            "roles": {name: role.model_dump() for name, role in frame.roles.items()},
            "memory": self.memory,
            **(extra or {}),
        }
