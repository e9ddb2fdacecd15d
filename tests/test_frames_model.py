"""Every built-in frame, end to end on the real embedded model, with small budgets."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from overlayagi.engine.llamacpp import LlamaCppLLM
from overlayagi.frames.library import FrameLibrary
from overlayagi.mind.events import Decision, LLMCall, MemorySink, PhaseFinished, PhaseStarted
from overlayagi.mind.runner import Runner, RunResult
from overlayagi.mind.tools import default_registry

pytestmark = pytest.mark.model

QUESTION = "A shop sells pens at 3 dollars each. How much do 4 pens cost?"
LONG = " ".join(
    f"Paragraph {i}: the warehouse in town {i} stores {i * 10} boxes of apples."
    for i in range(1, 40)
)

CASES = {
    "direct": QUESTION,
    "cot": QUESTION,
    "self_ask": QUESTION,
    "react": "Use the calculator: what is 123 * 45?",
    "reflect": QUESTION,
    "self_consistency": QUESTION,
    "consilium": "What is the capital of France?",
    "tot": QUESTION,
    "plan_solve": QUESTION,
    "chain_of_agents": LONG,
    "router": QUESTION,
    "summarize": LONG[:600],
    "select": "What is the capital of France?\nA. Berlin\nB. Paris\nC. Rome\nD. Madrid",
}


def runner(llm: LlamaCppLLM, folder: Path | None = None) -> Runner:
    library = FrameLibrary(folder, known_tools=default_registry())
    return Runner(
        library.refresh,
        lambda _m, _a: llm,
        tools=default_registry(),
        max_tokens=48,
        temperature=0.7,
        seed=7,
    )


def assert_well_formed(result: RunResult, sink: MemorySink) -> None:
    events = [e for e in sink.events if e.run_id == result.run_id]
    assert events[0].type == "run_started" and events[-1].type == "run_finished"
    assert [e.seq for e in events] == list(range(len(events)))
    assert len(sink.of_type(PhaseStarted)) == len(sink.of_type(PhaseFinished))
    calls = sink.of_type(LLMCall)
    assert len(calls) == result.llm_calls >= 1
    assert all(c.error is None or c.purpose == "critique" for c in calls)
    trace = result.trace
    assert trace is not None and trace.llm_calls == result.llm_calls
    assert trace.tokens == sum(c.prompt_tokens + c.completion_tokens for c in calls)


@pytest.mark.parametrize("frame_id", list(CASES))
async def test_builtin_frame_end_to_end(llm: LlamaCppLLM, frame_id: str) -> None:
    sink = MemorySink()
    started = time.perf_counter()
    result = await runner(llm).run(
        frame_id,
        CASES[frame_id],
        sink=sink,
        goal=("How many boxes are stored in town 3?" if frame_id == "chain_of_agents" else None),
    )
    print(
        f"{frame_id}: {result.status} {result.reason} {result.llm_calls} calls "
        f"{time.perf_counter() - started:.1f}s → {result.output[:80]!r}"
    )
    assert result.status in ("ok", "stopped"), result.reason
    assert result.reason == "completed" or result.reason.startswith("budget:")
    assert result.output.strip()
    assert_well_formed(result, sink)
    if frame_id == "consilium":
        select = next(d for d in sink.of_type(Decision) if d.kind == "select")
        assert len(select.options) == 3 and len(select.scores) == 3
        assert sum(select.scores) == pytest.approx(1.0)
        assert select.chosen == max(range(3), key=lambda i: select.scores[i])
    if frame_id == "chain_of_agents":
        workers = [c for c in sink.of_type(LLMCall) if c.purpose.startswith("worker")]
        assert len(workers) >= 2  # the long text was read in more than one chunk
    if frame_id == "select":  # scored, not written: no tokens generated
        (call,) = sink.of_type(LLMCall)
        assert call.completion_tokens == 0
        assert result.output == "Paris"
        assert result.outputs["choose"].data["label"] == "B"
    if frame_id == "router":
        assert any(e.type == "run_started" and e.depth == 1 for e in sink.events)


async def test_reflect_keeps_every_draft_when_the_critic_rejects(
    llm: LlamaCppLLM, tmp_path: Path
) -> None:
    # The built-in reflect, with its critic's verdict constrained to "revise".
    (tmp_path / "harsh.yaml").write_text(
        "id: harsh\nversion: 1.0.0\nextends: reflect\nphases:\n"
        "  - id: review\n    schema:\n      type: object\n      properties:\n"
        "        feedback: {type: string, maxLength: 80}\n"
        "        verdict: {type: string, enum: [revise]}\n"
        "      required: [feedback, verdict]\n"
    )
    sink = MemorySink()
    result = await runner(llm, tmp_path).run("harsh", QUESTION, sink=sink)
    assert result.status in ("ok", "stopped")
    phases = Counter(e.phase for e in sink.of_type(PhaseFinished))
    assert phases["draft"] == 1 and phases["refine"] >= 1
    drafts = [
        e.output["text"] for e in sink.of_type(PhaseFinished) if e.phase in ("draft", "refine")
    ]
    assert len(drafts) >= 2
    verdicts = [d for d in sink.of_type(Decision) if d.kind == "verdict"]
    assert verdicts and all(
        d.options[d.chosen] == "revise" for d in verdicts if d.chosen is not None
    )
