"""Runner semantics with a scripted fake model: transitions, budgets, cancellation,
parallelism, recursion, tool allowlists, vote and select."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from overlayagi.engine.types import Message
from overlayagi.frames.library import FrameLibrary, FrameSet
from overlayagi.mind.events import (
    Decision,
    LLMCall,
    MemorySink,
    PhaseStarted,
    RunFinished,
    RunStarted,
    ToolCall,
)
from overlayagi.mind.runner import Runner
from overlayagi.mind.tools import ToolRegistry, ToolResult, default_registry
from tests.fakes import FakeLLM


def frames_from(tmp_path: Path, tools: ToolRegistry | None = None, **files: str) -> FrameLibrary:
    folder = tmp_path / "frames"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return FrameLibrary(folder, known_tools=tools or default_registry(), include_builtin=False)


def runner_for(frames: FrameSet | FrameLibrary, llm: FakeLLM, **kw: Any) -> Runner:
    source = frames.refresh if isinstance(frames, FrameLibrary) else frames
    return Runner(source, lambda _m, _a: llm, max_tokens=64, temperature=0.0, **kw)


REFLECT = """
id: loop
version: 1.0.0
roles:
  critic: {system: "You are strict."}
phases:
  - id: draft
    kind: generate
    next: review
  - id: review
    kind: critique
    role: critic
    when:
      - if: outputs.review.data.verdict == 'approve'
        goto: end
    next: refine
  - id: refine
    kind: refine
    next: review
"""


async def test_transitions_follow_the_critics_verdict(tmp_path: Path) -> None:
    replies = [
        "draft one",
        {"feedback": "wrong", "verdict": "revise"},
        "draft two",
        {"feedback": "fine", "verdict": "approve"},
    ]
    llm = FakeLLM(replies)
    sink = MemorySink()
    result = await runner_for(frames_from(tmp_path, loop=REFLECT), llm).run(
        "loop", "question", sink=sink
    )
    assert result.status == "ok" and result.reason == "completed"
    assert result.output == "draft two"
    phases = [e.phase for e in sink.of_type(PhaseStarted)]
    assert phases == ["draft", "review", "refine", "review"]
    assert [d.chosen for d in sink.of_type(Decision)] == [1, 0]  # revise, then approve
    # refine saw the draft and the feedback
    refine_prompt = llm.calls[2]["messages"][-1].content
    assert "draft one" in refine_prompt and "wrong" in refine_prompt
    assert isinstance(sink.events[-1], RunFinished)
    assert [e.seq for e in sink.events] == list(range(len(sink.events)))


@pytest.mark.parametrize(
    ("budgets", "reason"),
    [
        ("max_llm_calls: 3", "budget:max_llm_calls"),
        ("max_steps: 2", "budget:max_steps"),
        ("max_tokens: 40", "budget:max_tokens"),
    ],
)
async def test_budgets_stop_a_run_with_their_reason(
    tmp_path: Path, budgets: str, reason: str
) -> None:
    frame = REFLECT + f"budgets: {{{budgets}}}\n"
    llm = FakeLLM(
        lambda m, k: (
            {"feedback": "no " * 10, "verdict": "revise"} if k.get("schema") else "words " * 10
        )
    )
    result = await runner_for(frames_from(tmp_path, loop=frame), llm).run("loop", "q")
    assert result.status == "stopped"
    assert result.reason == reason
    assert result.output  # the best answer so far is kept
    assert result.trace is not None and result.trace.status.startswith("stopped")


async def test_max_seconds_stops_a_slow_run(tmp_path: Path) -> None:
    frame = REFLECT + "budgets: {max_seconds: 0.3}\n"
    llm = FakeLLM(
        lambda m, k: {"feedback": "no", "verdict": "revise"} if k.get("schema") else "x", delay=0.1
    )
    result = await runner_for(frames_from(tmp_path, loop=frame), llm).run("loop", "q")
    assert (result.status, result.reason) == ("stopped", "budget:max_seconds")


async def test_cancellation_is_recorded_and_reraised(tmp_path: Path) -> None:
    llm = FakeLLM(
        lambda m, k: {"feedback": "no", "verdict": "revise"} if k.get("schema") else "x", delay=0.05
    )
    sink = MemorySink()
    task = asyncio.create_task(
        runner_for(frames_from(tmp_path, loop=REFLECT), llm).run("loop", "q", sink=sink)
    )
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    last = sink.events[-1]
    assert isinstance(last, RunFinished) and last.status == "cancelled"


async def test_parallel_samples_respect_the_bound(tmp_path: Path) -> None:
    frame = """
    id: many
    version: 1.0.0
    budgets: {max_parallel: 2}
    phases:
      - id: samples
        kind: generate
        n: 6
    """
    llm = FakeLLM("s", delay=0.05)
    result = await runner_for(frames_from(tmp_path, many=frame), llm).run("many", "q")
    assert len(result.outputs["samples"].samples) == 6
    assert llm.max_active == 2


async def test_roles_answer_in_parallel_with_their_own_prompts(tmp_path: Path) -> None:
    frame = """
    id: council
    version: 1.0.0
    roles:
      a: {system: "You are A.", temperature: 0.1}
      b: {system: "You are B.", temperature: 0.9}
    phases:
      - id: answers
        kind: generate
        roles: [a, b]
    """
    llm = FakeLLM(lambda m, k: m[0].content)
    result = await runner_for(frames_from(tmp_path, council=frame), llm).run("council", "q")
    out = result.outputs["answers"]
    assert out.samples == ["You are A.", "You are B."]
    assert out.sample_roles == ["a", "b"]
    assert sorted(c["temperature"] for c in llm.calls) == [0.1, 0.9]


async def test_call_recursion_is_bounded_by_max_depth(tmp_path: Path) -> None:
    frame = """
    id: deeper
    version: 1.0.0
    budgets: {max_depth: 2}
    phases:
      - id: again
        kind: call
        frame: deeper
    """
    sink = MemorySink()
    result = await runner_for(frames_from(tmp_path, deeper=frame), FakeLLM()).run(
        "deeper", "q", sink=sink
    )
    assert (result.status, result.reason) == ("stopped", "budget:max_depth")
    depths = [e.depth for e in sink.of_type(RunStarted)]
    assert depths == [0, 1, 2, 3]
    nested = result.trace
    assert nested is not None
    assert nested.children[0].children[0].kind == "run"  # phase → sub-run


class Spy:
    name = "spy"
    description = "records that it ran"
    parameters: dict[str, Any] = {"type": "object", "properties": {}}

    def __init__(self) -> None:
        self.ran = 0

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        self.ran += 1
        return ToolResult("spied")


async def test_a_tool_outside_the_allowlist_is_refused_and_recorded(tmp_path: Path) -> None:
    spy = Spy()
    tools = default_registry()
    tools.register(spy)
    frame = """
    id: act
    version: 1.0.0
    tools: [calculator]
    phases:
      - id: act
        kind: tool_loop
        tools: [calculator]
    """
    replies = [
        {"thought": "sneak", "tool": "spy", "args": {}},
        {"thought": "compute", "tool": "calculator", "args": {"expression": "6*7"}},
        {"thought": "done", "tool": "final_answer", "answer": "42"},
    ]
    sink = MemorySink()
    runner = runner_for(frames_from(tmp_path, tools, act=frame), FakeLLM(replies), tools=tools)
    result = await runner.run("act", "6 times 7?", sink=sink)
    calls = sink.of_type(ToolCall)
    assert [(c.name, c.refused) for c in calls] == [("spy", True), ("calculator", False)]
    assert spy.ran == 0
    assert calls[1].result == "42"
    assert result.output == "42"


async def test_vote_majority_and_tie_break_by_selector(tmp_path: Path) -> None:
    frame = """
    id: sc
    version: 1.0.0
    phases:
      - id: samples
        kind: generate
        n: 5
      - id: vote
        kind: vote
        source: samples
        extract: {builtin: number}
    """
    answers = iter(["so 42", "it is 41", "answer: 42.", "7", "41"])
    llm = FakeLLM(lambda m, k: next(answers))
    sink = MemorySink()
    result = await runner_for(frames_from(tmp_path, sc=frame), llm).run("sc", "q", sink=sink)
    assert result.outputs["vote"].data["answer"] == "42"
    assert result.output == "so 42" or "42" in result.output

    # a 2–2 tie: the selector prefers the second candidate's letter
    tie = iter(["1", "2", "1", "2", "9"])
    llm = FakeLLM(lambda m, k: next(tie), scores=lambda m, c: [0.2, 0.7])
    sink = MemorySink()
    result = await runner_for(frames_from(tmp_path, sc=frame), llm).run("sc", "q", sink=sink)
    decision = sink.of_type(Decision)[-1]
    assert decision.kind == "vote" and decision.options[decision.chosen] == "2"
    assert result.outputs["vote"].data["answer"] == "2"


async def test_select_records_a_probability_per_candidate(tmp_path: Path) -> None:
    frame = """
    id: pick
    version: 1.0.0
    phases:
      - id: pick
        kind: select
        choices: [red, green, blue]
    """
    llm = FakeLLM(scores=lambda m, c: {"A": 0.1, "B": 0.6, "C": 0.3} and [0.1, 0.6, 0.3])
    sink = MemorySink()
    result = await runner_for(frames_from(tmp_path, pick=frame), llm).run("pick", "q", sink=sink)
    decision = sink.of_type(Decision)[0]
    assert decision.chosen == 1 and result.output == "green"
    assert decision.scores == pytest.approx([0.1, 0.6, 0.3])
    assert llm.calls[0]["choices"] == ["A", "B", "C"]
    assert "B) green" in llm.calls[0]["messages"][-1].content


async def test_retrieve_without_memory_fails_clearly(tmp_path: Path) -> None:
    frame = """
    id: rag
    version: 1.0.0
    phases:
      - id: look
        kind: retrieve
      - id: answer
        kind: generate
    """
    result = await runner_for(frames_from(tmp_path, rag=frame), FakeLLM()).run("rag", "q")
    assert result.status == "error"
    assert "no memory configured" in result.reason


async def test_the_final_phase_streams_only_the_output_section(tmp_path: Path) -> None:
    frame = """
    id: cot
    version: 1.0.0
    phases:
      - id: answer
        kind: generate
        output: tagged
    """
    llm = FakeLLM("<thinking>secret steps</thinking>\n<output>The answer is 4.</output>")
    deltas: list[str] = []
    result = await runner_for(frames_from(tmp_path, cot=frame), llm).run(
        "cot", "2+2?", on_delta=deltas.append
    )
    assert "".join(deltas) == "The answer is 4."
    assert result.output == "The answer is 4."
    assert result.outputs["answer"].sections["thinking"] == "secret steps"
    assert "<output>" in llm.calls[0]["messages"][0].content  # the tag instruction


async def test_hot_reload_and_a_run_keeps_its_version(tmp_path: Path) -> None:
    v1 = """
    id: hot
    version: 1.0.0
    phases:
      - id: a
        kind: generate
        prompt: "v1 {{ input }}"
      - id: b
        kind: generate
        prompt: "{{ outputs.a.text }}"
    """
    library = frames_from(tmp_path, hot=v1)
    path = tmp_path / "frames" / "hot.yaml"
    edited = asyncio.Event()

    def reply(messages: list[Message], _: dict[str, Any]) -> str:
        if not edited.is_set():
            path.write_text(textwrap.dedent(v1).replace("1.0.0", "1.1.0").replace("v1", "v2"))
            edited.set()
        return messages[-1].content

    sink = MemorySink()
    runner = runner_for(library, FakeLLM(reply))
    first = await runner.run("hot", "x", sink=sink)
    assert first.frame == "hot@1.0.0" and first.output == "v1 x"
    second = await runner.run("hot", "x")
    assert second.frame == "hot@1.1.0" and second.output == "v2 x"


async def test_events_and_trace_are_well_formed(tmp_path: Path) -> None:
    llm = FakeLLM(["d", {"feedback": "ok", "verdict": "approve"}])
    sink = MemorySink()
    result = await runner_for(frames_from(tmp_path, loop=REFLECT), llm).run("loop", "q", sink=sink)
    types = [e.type for e in sink.events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert types.count("phase_started") == types.count("phase_finished") == 2
    calls = sink.of_type(LLMCall)
    assert all(c.span for c in calls) and calls[1].schema_ is not None
    trace = result.trace
    assert trace is not None
    assert [c.name.split(" ")[0] for c in trace.children] == ["draft", "review"]
    assert trace.llm_calls == 2 and trace.tokens > 0
    assert re.fullmatch(r"[0-9a-f]{16}", result.run_id)


async def test_an_engine_error_ends_the_run_and_is_recorded(tmp_path: Path) -> None:
    from overlayagi.engine.errors import BackendUnavailableError

    def broken(_m: list[Message], _k: dict[str, Any]) -> str:
        raise BackendUnavailableError("server down")

    frame = """
    id: one
    version: 1.0.0
    phases:
      - id: answer
        kind: generate
    """
    sink = MemorySink()
    result = await runner_for(frames_from(tmp_path, one=frame), FakeLLM(broken)).run(
        "one", "q", sink=sink
    )
    assert result.status == "error" and result.reason == "error:fake: server down"
    (call,) = sink.of_type(LLMCall)
    assert call.error == "server down" and call.response is None
