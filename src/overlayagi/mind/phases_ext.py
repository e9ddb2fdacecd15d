"""Phases that reach outside the model: retrieve (memory), tool_loop (tools), call (frames)."""

from __future__ import annotations

import json
import time
from typing import Any

from overlayagi.engine.types import Message
from overlayagi.errors import OverlayError
from overlayagi.mind.budget import BudgetExhausted
from overlayagi.mind.calls import PhaseFailed, messages_for, system_prompt
from overlayagi.mind.events import ToolCall
from overlayagi.mind.phase_api import PhaseRun
from overlayagi.mind.state import PhaseOutput
from overlayagi.mind.tools.registry import CURRENT_SESSION, CURRENT_TOOL_CONTEXT, ToolContext

FINAL = "final_answer"


async def retrieve(run: PhaseRun) -> PhaseOutput:
    memory = run.shared.memory
    if memory is None:
        raise PhaseFailed(
            "no memory configured: a retrieve phase needs a vault index or a memory store, "
            "and this workspace has none yet"
        )
    query = run.render(run.phase.input or "{{ input }}")
    sources = list(run.ctx.frame.memory.retrieve) or ["vault"]
    hits = await memory.retrieve(query, k=run.phase.k, sources=sources)
    text = "\n\n".join(
        f"[{i}] {h.get('citation', '')}\n{h.get('text', '')}".strip() for i, h in enumerate(hits, 1)
    )
    return run.output(text=text, data=hits)


def action_schema(run: PhaseRun) -> dict[str, Any]:
    """One JSON shape per offered tool plus the final answer: the model can only pick these."""
    registry = run.shared.tools
    options: list[dict[str, Any]] = []
    for name in run.phase.tools or []:
        if name in registry:
            options.append(
                {
                    "type": "object",
                    "properties": {
                        "thought": {"type": "string"},
                        "tool": {"const": name},
                        "args": registry[name].parameters,
                    },
                    "required": ["thought", "tool", "args"],
                }
            )
    options.append(
        {
            "type": "object",
            "properties": {
                "thought": {"type": "string"},
                "tool": {"const": FINAL},
                "answer": {"type": "string"},
            },
            "required": ["thought", "tool", "answer"],
        }
    )
    return {"anyOf": options}


def _instructions(run: PhaseRun) -> str:
    offered = [n for n in run.phase.tools or [] if n in run.shared.tools]
    return (
        "You can use tools. Reply with one JSON object per turn: "
        '{"thought": "...", "tool": "<tool name>", "args": {...}} to call a tool, or '
        f'{{"thought": "...", "tool": "{FINAL}", "answer": "..."}} when you know the answer.\n'
        f"Tools:\n{run.shared.tools.describe(offered)}"
    )


async def use_tool(run: PhaseRun, name: str, arguments: Any) -> str:
    """Run one tool call if the frame allows it; every call, refused or not, is an event."""
    allowed = set(run.ctx.frame.tools) & set(run.phase.tools or [])
    registry = run.shared.tools
    started = time.monotonic()
    refused, error = False, False
    args = arguments if isinstance(arguments, dict) else {"value": arguments}
    if name not in allowed:
        refused, result = True, f"refused: the tool '{name}' is not allowed in this frame"
    elif name not in registry:
        refused, result = True, f"refused: there is no tool named '{name}'"
    elif problem := registry.check_arguments(name, args):
        error, result = True, f"error: bad arguments for {name}: {problem}"
    else:
        frame = run.ctx.frame
        token = CURRENT_TOOL_CONTEXT.set(
            ToolContext(run.ctx.run_id, frame.id, str(frame.version), CURRENT_SESSION.get())
        )
        try:
            outcome = await registry[name].run(args)
        finally:
            CURRENT_TOOL_CONTEXT.reset(token)
        result, error = outcome.output, outcome.error
    run.shared.emit(
        ToolCall(
            run_id=run.ctx.run_id,
            span=run.span,
            phase=run.phase.id,
            name=name,
            arguments=args,
            result=result,
            refused=refused,
            error=error,
            duration_s=time.monotonic() - started,
        )
    )
    return result


async def tool_loop(run: PhaseRun) -> PhaseOutput:
    """Thought → action → observation, until a final answer or ``max_iterations``."""
    phase = run.phase
    system = system_prompt(run.ctx, phase, phase.role, _instructions(run))
    messages = messages_for(system, run.render(phase.prompt or "{{ input }}"))
    schema = action_schema(run)
    steps: list[dict[str, Any]] = []
    for _ in range(phase.max_iterations):
        reply = await run.call.chat(messages, role=phase.role, schema=schema, purpose="action")
        action = reply.parsed if isinstance(reply.parsed, dict) else {}
        messages.append(Message.assistant(reply.text))
        if action.get("tool") == FINAL:
            steps.append({"thought": action.get("thought", ""), "answer": action.get("answer", "")})
            return run.output(text=str(action.get("answer", "")).strip(), data={"steps": steps})
        observation = await use_tool(run, str(action.get("tool")), action.get("args", {}))
        steps.append(
            {
                "thought": action.get("thought", ""),
                "tool": action.get("tool"),
                "args": action.get("args"),
                "observation": observation,
            }
        )
        messages.append(Message.user(f"Observation: {observation}"))
    messages.append(Message.user("Give the final answer now, in plain text."))
    final = await run.call.chat(messages, role=phase.role, purpose="final", stream=run.terminal)
    steps.append({"answer": final.text.strip(), "forced": True})
    return run.output(text=final.text.strip(), data={"steps": steps})


async def call(run: PhaseRun) -> PhaseOutput:
    """Run another frame (or this one again) as a sub-run one level deeper."""
    phase, ctx = run.phase, run.ctx
    assert phase.frame is not None and run.shared.run_sub is not None
    target = run.render(phase.frame).strip()
    sub_input = run.render(phase.input) if phase.input else ctx.input
    try:
        run.shared.frames.get_frame(target)
    except OverlayError as exc:
        raise PhaseFailed(f"call: {exc.what}") from None
    result = await run.shared.run_sub(
        target,
        sub_input,
        goal=ctx.goal,
        depth=ctx.depth + 1,
        parent_run_id=ctx.run_id,
        parent_span=run.span,
        stream=run.terminal,
    )
    ctx.sub_results.append(result)
    if result.status == "stopped" and result.reason.startswith("budget:"):
        raise BudgetExhausted(result.reason.removeprefix("budget:"))
    if result.status == "error":
        raise PhaseFailed(f"call {target}: {result.reason}")
    return run.output(
        text=result.output,
        data={
            "frame": result.frame,
            "run_id": result.run_id,
            "status": result.status,
            "summary": json.dumps({"llm_calls": result.llm_calls}),
        },
    )
