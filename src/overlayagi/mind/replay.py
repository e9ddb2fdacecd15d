"""Replaying a run's model calls from the ledger: same messages, parameters and seeds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from overlayagi.engine.protocols import LLM
from overlayagi.engine.types import Message
from overlayagi.mind.events import Event, LLMCall


@dataclass(frozen=True)
class Replayed:
    index: int
    phase: str
    purpose: str
    seed: int | None
    same: bool
    detail: str


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


async def replay_calls(
    llm: LLM, events: Sequence[Event], *, tolerance: float = 1e-3
) -> list[Replayed]:
    """Each recorded call made again; ``same`` when the text (or every score) matches."""
    report = []
    calls = [e for e in events if isinstance(e, LLMCall) and e.error is None]
    for index, call in enumerate(calls, 1):
        messages = [Message.model_validate(m) for m in call.messages]
        seed = call.params.get("seed")
        if call.choices is not None:
            scores = await asyncio.to_thread(llm.score_choices, messages, call.choices)
            old = call.scores or []
            worst = max((abs(a - b) for a, b in zip(scores, old, strict=False)), default=0.0)
            same = len(scores) == len(old) and worst <= tolerance
            detail = "" if same else f"scores differ by up to {worst:.4f}"
        else:
            completion = await asyncio.to_thread(
                llm.chat, messages, schema=call.schema_, **call.params
            )
            old_text = call.response or ""
            same = completion.text == old_text
            at = _first_difference(completion.text, old_text)
            detail = (
                ""
                if same
                else f"at char {at}: {old_text[at : at + 30]!r} → {completion.text[at : at + 30]!r}"
            )
            if not same and seed is None:
                detail += " (the call was not seeded; sampling differs by design)"
        report.append(Replayed(index, call.phase, call.purpose, seed, same, detail))
    return report
