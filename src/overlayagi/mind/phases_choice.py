"""Phases that choose: select (logprob scoring), vote (majority), collapse (best branch)."""

from __future__ import annotations

import string
from collections import Counter
from typing import Any

from overlayagi.frames import templates
from overlayagi.mind.answers import extract
from overlayagi.mind.calls import PhaseFailed, messages_for, system_prompt
from overlayagi.mind.events import Decision
from overlayagi.mind.phase_api import PhaseRun
from overlayagi.mind.state import PhaseOutput

LABELS = string.ascii_uppercase

SELECT_PROMPT = (
    "Question:\n{{ input }}\n\nCandidate answers:\n{{ candidates }}\n\n"
    "Which candidate answer is the most correct and complete? Reply with its letter only."
)
COLLAPSE_PROMPT = (
    "Problem: {{ input }}\n{% if state %}\nReasoning so far:\n{{ state }}\n{% endif %}\n"
    "Candidate next steps:\n{{ candidates }}\n\n"
    "Which step is the most correct and useful? Reply with its letter only."
)


def candidates_of(run: PhaseRun) -> tuple[list[str], list[Any]]:
    """Candidate texts (and any parsed data) from ``source`` phases or ``choices``."""
    phase, ctx = run.phase, run.ctx
    texts: list[str] = []
    data: list[Any] = []
    if phase.source:
        for name in phase.source:
            out = ctx.outputs.get(name)
            if out is None:
                raise PhaseFailed(f"source phase '{name}' has not run yet")
            if out.samples:
                texts += out.samples
                data += out.data if isinstance(out.data, list) else [None] * len(out.samples)
            else:
                texts.append(out.text)
                data.append(out.data)
    elif isinstance(phase.choices, list):
        texts = [run.render(c) for c in phase.choices]
        data = [None] * len(texts)
    elif isinstance(phase.choices, str):
        value = templates.evaluate(phase.choices, ctx.variables(phase))
        if not isinstance(value, list | tuple):
            raise PhaseFailed(f"choices must evaluate to a list, got {type(value).__name__}")
        texts = [str(v) for v in value]
        data = [None] * len(texts)
    if not texts:
        if isinstance(phase.choices, str):
            raise PhaseFailed(
                f"no candidates to choose from: `{phase.choices}` gave an empty list "
                "(with `input | options` the input must list lettered options, one per line: "
                "'A. …', 'B. …')"
            )
        raise PhaseFailed("no candidates to choose from")
    if len(texts) > len(LABELS):
        raise PhaseFailed(f"at most {len(LABELS)} candidates can be compared, got {len(texts)}")
    return texts, data


def lettered(texts: list[str]) -> str:
    return "\n\n".join(f"{LABELS[i]}) {t}" for i, t in enumerate(texts))


def normalised(scores: list[float]) -> list[float]:
    total = sum(scores)
    if total <= 0:
        return [1.0 / len(scores)] * len(scores)
    return [s / total for s in scores]


async def score_candidates(run: PhaseRun, texts: list[str], default_prompt: str) -> list[float]:
    """A probability per candidate: of its letter (``label``) or of its text (``text``)."""
    phase = run.phase
    if len(texts) == 1:
        return [1.0]
    system = system_prompt(run.ctx, phase, phase.role)
    if phase.mode == "text":
        user = run.render(phase.prompt or "{{ input }}")
        choices = texts
    else:
        user = run.render(phase.prompt or default_prompt, {"candidates": lettered(texts)})
        choices = list(LABELS[: len(texts)])
    scores = await run.call.score(
        messages_for(system, user), choices, role=phase.role, purpose="select"
    )
    return normalised(scores)


def _emit(
    run: PhaseRun, kind: str, options: list[str], chosen: int, scores: list[float], **detail: Any
) -> None:
    run.shared.emit(
        Decision(
            run_id=run.ctx.run_id,
            span=run.span,
            phase=run.phase.id,
            kind=kind,
            options=[o if len(o) <= 300 else o[:297] + "…" for o in options],
            chosen=chosen,
            scores=scores,
            detail=detail,
        )
    )


async def select(run: PhaseRun) -> PhaseOutput:
    texts, data = candidates_of(run)
    probs = await score_candidates(run, texts, SELECT_PROMPT)
    best = max(range(len(texts)), key=lambda i: probs[i])
    _emit(run, "select", texts, best, probs, mode=run.phase.mode)
    return run.output(
        text=texts[best],
        data={
            "chosen": best,
            "label": LABELS[best],
            "choice": texts[best],
            "probabilities": probs,
            "parsed": data[best],
        },
    )


async def vote(run: PhaseRun) -> PhaseOutput:
    """Majority over extracted answers; a tie is broken by the selector's scores."""
    texts, data = candidates_of(run)
    answers = [extract(run.phase.extract, t, d) for t, d in zip(texts, data, strict=True)]
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        _emit(run, "vote", texts, 0, [0.0] * len(texts), note="no answer could be extracted")
        return run.output(text=texts[0], data={"answer": None, "counts": {}})
    top = max(counts.values())
    tied = [a for a, c in counts.items() if c == top]
    winner, tie_scores = tied[0], None
    if len(tied) > 1:
        representatives = [texts[answers.index(a)] for a in tied]
        tie_scores = await score_candidates(run, representatives, SELECT_PROMPT)
        winner = tied[max(range(len(tied)), key=lambda i: tie_scores[i])]
    options = list(counts)
    total = sum(counts.values())
    _emit(
        run,
        "vote",
        options,
        options.index(winner),
        [counts[o] / total for o in options],
        counts=dict(counts),
        tie_break=dict(zip(tied, tie_scores, strict=True)) if tie_scores else None,
        answers=answers,
    )
    return run.output(
        text=texts[answers.index(winner)],
        data={"answer": winner, "counts": dict(counts), "answers": answers},
    )


async def collapse(run: PhaseRun) -> PhaseOutput:
    """Keep the best branch and append it to the reasoning path (the new state)."""
    texts, _ = candidates_of(run)
    probs = await score_candidates(run, texts, COLLAPSE_PROMPT)
    best = max(range(len(texts)), key=lambda i: probs[i])
    _emit(run, "collapse", texts, best, probs)
    step = len([line for line in run.ctx.state.splitlines() if line.startswith("Step ")]) + 1
    state = f"{run.ctx.state}\nStep {step}: {texts[best].strip()}".strip()
    return run.output(text=state, data={"chosen": best, "probabilities": probs, "depth": step})
