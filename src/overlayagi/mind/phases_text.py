"""Phases that write text: generate, branch, critique, refine, self_ask, summarize."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from overlayagi.engine.errors import OutputSchemaError
from overlayagi.engine.types import Completion
from overlayagi.frames.spec import PhaseKind
from overlayagi.mind.calls import PhaseFailed, messages_for, system_prompt
from overlayagi.mind.events import Decision
from overlayagi.mind.phase_api import PhaseRun
from overlayagi.mind.state import PhaseOutput

DEFAULT_PROMPTS: dict[PhaseKind, str] = {
    PhaseKind.GENERATE: "{{ input }}",
    PhaseKind.BRANCH: (
        "Problem: {{ input }}\n{% if state %}\nReasoning so far:\n{{ state }}\n{% endif %}\n"
        "Write only the next single reasoning step (one or two sentences)."
    ),
    PhaseKind.CRITIQUE: (
        "Question:\n{{ input }}\n\nProposed answer:\n{{ answer }}\n\n"
        "Check the proposed answer for mistakes, gaps and unsupported claims. "
        'Use verdict "approve" only if it is correct and complete; otherwise "revise", '
        "and say exactly what to fix."
    ),
    PhaseKind.REFINE: (
        "Question:\n{{ input }}\n\nYour previous answer:\n{{ answer }}\n\n"
        "A reviewer's feedback:\n{{ feedback }}\n\n"
        "Write an improved answer that fixes every point. Give only the answer."
    ),
    PhaseKind.SELF_ASK: (
        "Question: {{ input }}\n\nWhich simpler sub-questions (at most {{ max_questions }}) "
        "must be answered first to answer it? List only the sub-questions."
    ),
    PhaseKind.SUMMARIZE: (
        "{% if summary %}Notes so far:\n{{ summary }}\n\n{% endif %}"
        "Text (part {{ chunk_index }} of {{ chunk_count }}):\n{{ chunk }}\n\n"
        "Update the notes with everything in this part that matters for: {{ goal }}\n"
        "Write the complete updated notes, briefly."
    ),
}

CRITIQUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # Bounded so the JSON always closes within a small max_tokens (small models ramble).
        "feedback": {"type": "string", "maxLength": 400},
        "verdict": {"type": "string", "enum": ["approve", "revise"]},
    },
    "required": ["feedback", "verdict"],
}


def prompt_of(run: PhaseRun, extra: dict[str, Any] | None = None) -> str:
    template = run.phase.prompt or DEFAULT_PROMPTS.get(run.phase.kind, "{{ input }}")
    return run.render(template, extra)


async def generate(run: PhaseRun) -> PhaseOutput:
    """One answer, ``n`` samples, or each of ``roles`` answering (``n`` times each)."""
    phase = run.phase
    speakers: list[str | None] = list(phase.roles) if phase.roles else [phase.role]
    user = prompt_of(run)
    jobs = [(role, i) for role in speakers for i in range(phase.n)]
    stream = run.terminal and len(jobs) == 1 and phase.form != "json"

    async def one(role: str | None) -> Completion:
        msgs = messages_for(system_prompt(run.ctx, phase, role), user)
        return await run.call.chat(msgs, role=role, schema=phase.schema_, stream=stream)

    completions = await asyncio.gather(*(one(role) for role, _ in jobs))
    if len(completions) == 1:
        return run.from_completion(completions[0])
    shaped = [run.from_completion(c) for c in completions]
    first = shaped[0]
    return run.output(
        text=first.text,
        raw=first.raw,
        sections=first.sections,
        data=[s.data for s in shaped] if phase.form == "json" else None,
        samples=[s.text for s in shaped],
        sample_roles=[role for role, _ in jobs],
    )


async def critique(run: PhaseRun) -> PhaseOutput:
    """A verdict on the latest answer: ``data.verdict`` is ``approve`` or ``revise``."""
    phase = run.phase
    schema = phase.schema_ or CRITIQUE_SCHEMA
    msgs = messages_for(system_prompt(run.ctx, phase, phase.role), prompt_of(run))
    problem = None
    try:
        completion = await run.call.chat(msgs, role=phase.role, schema=schema, purpose="critique")
        raw = completion.text
        data = completion.parsed if isinstance(completion.parsed, dict) else {}
    except PhaseFailed as exc:
        if not isinstance(exc.__cause__, OutputSchemaError):
            raise
        # A critic whose verdict cannot be read has not approved: revise, and say why.
        problem, raw, data = str(exc), "", {}
    verdict = str(data.get("verdict", "revise"))
    feedback = str(data.get("feedback", ""))
    options = ["approve", "revise"]
    run.shared.emit(
        Decision(
            run_id=run.ctx.run_id,
            span=run.span,
            phase=phase.id,
            kind="verdict",
            options=options,
            chosen=options.index(verdict) if verdict in options else None,
            detail={"feedback": feedback, **({"unreadable": problem} if problem else {})},
        )
    )
    return run.output(text=feedback, raw=raw, data=data)


async def self_ask(run: PhaseRun) -> PhaseOutput:
    """Ask sub-questions (schema-constrained), then answer them in turn."""
    phase = run.phase
    limit = phase.max_iterations
    schema = {
        "type": "object",
        "properties": {
            "questions": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": limit,
            }
        },
        "required": ["questions"],
    }
    system = system_prompt(run.ctx, phase, phase.role)
    asked = await run.call.chat(
        messages_for(system, prompt_of(run, {"max_questions": limit})),
        role=phase.role,
        schema=schema,
        purpose="sub-questions",
        temperature=0.0,
    )
    questions = [q.strip() for q in (asked.parsed or {}).get("questions", []) if q.strip()][:limit]
    if not questions:
        raise PhaseFailed("self_ask: the model asked no sub-questions")
    answered: list[dict[str, str]] = []
    for question in questions:
        known = "\n".join(f"Q: {qa['question']}\nA: {qa['answer']}" for qa in answered)
        user = f"Main question: {run.ctx.input}\n\n"
        if known:
            user += f"Known so far:\n{known}\n\n"
        user += f"Answer this sub-question briefly: {question}"
        reply = await run.call.chat(
            messages_for(system, user), role=phase.role, purpose="sub-answer"
        )
        answered.append({"question": question, "answer": reply.text.strip()})
    text = "\n".join(f"Q: {qa['question']}\nA: {qa['answer']}" for qa in answered)
    return run.output(text=text, data={"questions": answered})


def split_chunks(text: str, max_tokens: int, count: Any) -> list[str]:
    """Paragraphs, then sentences, packed into chunks of at most ``max_tokens``; a chunk never
    ends mid-sentence unless one sentence alone is longer than a chunk."""
    pieces: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        if count(para) <= max_tokens:
            pieces.append(para)
            continue
        pieces.extend(s for s in re.split(r"(?<=[.!?。])\s+", para) if s)
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if current and count(candidate) > max_tokens:
            chunks.append(current)
            current = piece
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return chunks


async def summarize(run: PhaseRun) -> PhaseOutput:
    """Notes over a text; long texts are read in order by workers that pass notes along."""
    phase = run.phase
    source = run.render(phase.input) if phase.input else run.ctx.input
    llm = run.call.llm(phase.role)
    chunks = split_chunks(source, phase.chunk_tokens, llm.count_tokens) or [""]
    system = system_prompt(run.ctx, phase, phase.role)
    notes = ""
    for index, chunk in enumerate(chunks, 1):
        user = prompt_of(
            run,
            {"chunk": chunk, "chunk_index": index, "chunk_count": len(chunks), "summary": notes},
        )
        last = index == len(chunks)
        reply = await run.call.chat(
            messages_for(system, user),
            role=phase.role,
            purpose=f"worker {index}/{len(chunks)}",
            stream=run.terminal and last,
        )
        notes = reply.text.strip()
    return run.output(text=notes, data={"chunks": len(chunks)})
