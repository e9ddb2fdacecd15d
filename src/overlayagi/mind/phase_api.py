"""What a phase executor gets, and how model text becomes a ``PhaseOutput``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from overlayagi.engine.types import Completion
from overlayagi.frames import templates
from overlayagi.frames.spec import Phase
from overlayagi.mind.calls import Caller
from overlayagi.mind.state import PhaseOutput, RunContext, Shared
from overlayagi.mind.tags import parse_sections, visible_text


@dataclass
class PhaseRun:
    shared: Shared
    ctx: RunContext
    phase: Phase
    iteration: int
    span: str
    terminal: bool
    call: Caller

    def render(self, template: str, extra: dict[str, Any] | None = None) -> str:
        return templates.render(template, self.ctx.variables(self.phase, extra))

    def output(self, **fields: Any) -> PhaseOutput:
        return PhaseOutput(
            phase=self.phase.id, kind=self.phase.kind.value, iteration=self.iteration, **fields
        )

    def from_completion(self, completion: Completion) -> PhaseOutput:
        return self.output(**shape(self.phase, completion.text, completion.parsed))


def shape(phase: Phase, raw: str, parsed: Any) -> dict[str, Any]:
    """text/raw/sections/data for the phase's output form."""
    form = phase.form
    if form == "json":
        if isinstance(parsed, dict) and isinstance(parsed.get("answer"), str):
            text = parsed["answer"]
        else:
            text = json.dumps(parsed, ensure_ascii=False)
        return {"text": text, "raw": raw, "data": parsed}
    if form == "tagged":
        return {"text": visible_text(raw), "raw": raw, "sections": parse_sections(raw)}
    return {"text": raw.strip(), "raw": raw}


Executor = Callable[[PhaseRun], Awaitable[PhaseOutput]]
