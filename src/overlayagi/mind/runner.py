"""The runner: executes a frame as an explicit state machine.

Start at the first phase; after each phase follow the first ``when`` whose condition holds,
else ``next``, else the following phase; ``end`` stops. Every step is an event. A run ends
``ok``, ``stopped`` (a budget: ``budget:max_llm_calls``…), ``cancelled`` or ``error``
(``error:<what>``); in every case a ``RunFinished`` event is the last one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import jinja2
from pydantic import BaseModel, Field

from overlayagi.errors import OverlayError
from overlayagi.frames import templates
from overlayagi.frames.errors import RunSetupError
from overlayagi.frames.library import FrameSet
from overlayagi.frames.spec import END, Budgets, Phase, PhaseKind
from overlayagi.mind import phases_choice, phases_ext, phases_text
from overlayagi.mind.budget import Budget, BudgetExhausted
from overlayagi.mind.calls import Caller, PhaseFailed, request_key
from overlayagi.mind.events import (
    Event,
    EventSink,
    FanoutSink,
    Keyframe,
    LLMCall,
    MemorySink,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunResumed,
    RunStarted,
    RunStatus,
)
from overlayagi.mind.phase_api import Executor, PhaseRun
from overlayagi.mind.state import LLMProvider, MemoryHooks, PhaseOutput, RunContext, Shared
from overlayagi.mind.tools.registry import ToolRegistry
from overlayagi.mind.trace import TraceNode, build_trace

EXECUTORS: dict[PhaseKind, Executor] = {
    PhaseKind.GENERATE: phases_text.generate,
    PhaseKind.BRANCH: phases_text.generate,
    PhaseKind.REFINE: phases_text.generate,
    PhaseKind.CRITIQUE: phases_text.critique,
    PhaseKind.SELF_ASK: phases_text.self_ask,
    PhaseKind.SUMMARIZE: phases_text.summarize,
    PhaseKind.SELECT: phases_choice.select,
    PhaseKind.VOTE: phases_choice.vote,
    PhaseKind.COLLAPSE: phases_choice.collapse,
    PhaseKind.RETRIEVE: phases_ext.retrieve,
    PhaseKind.TOOL_LOOP: phases_ext.tool_loop,
    PhaseKind.CALL: phases_ext.call,
}


class RunResult(BaseModel):
    run_id: str
    frame: str
    status: RunStatus
    reason: str
    output: str
    outputs: dict[str, PhaseOutput] = Field(default_factory=dict)
    llm_calls: int = 0
    tokens: int = 0
    duration_s: float = 0.0
    trace: TraceNode | None = None


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class Runner:
    """Runs frames against an LLM provider, a tool registry and (optionally) memory."""

    def __init__(
        self,
        frames: FrameSet | Callable[[], FrameSet],
        llm_for: LLMProvider,
        *,
        tools: ToolRegistry | None = None,
        memory: MemoryHooks | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> None:
        self._frames = frames
        self.llm_for = llm_for
        self.tools = tools or ToolRegistry()
        self.memory = memory
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed

    def snapshot(self) -> FrameSet:
        return self._frames() if callable(self._frames) else self._frames

    async def run(
        self,
        frame_id: str,
        input: str,
        *,
        goal: str | None = None,
        sink: EventSink | None = None,
        on_delta: Callable[[str], None] | None = None,
        seed: int | None = None,
        run_id: str | None = None,
        frames: FrameSet | None = None,
    ) -> RunResult:
        """Run ``frame_id`` on ``input``. Frame errors raise before the run starts; anything
        after ``RunStarted`` ends in a ``RunResult`` (cancellation re-raises after recording).
        ``frames`` pins a snapshot (e.g. a past version); by default the current one is taken."""
        frames = frames or self.snapshot()  # the run keeps these versions, whatever is edited
        loaded = frames.get_frame(frame_id)
        shared, trace_sink = self._shared(frames, loaded.frame.budgets, sink, on_delta, seed)
        result = await self._run_frame(shared, frame_id, input, goal=goal, run_id=run_id)
        result.trace = build_trace(trace_sink.events, result.run_id)
        return result

    def _shared(
        self,
        frames: FrameSet,
        limits: Budgets,
        sink: EventSink | None,
        on_delta: Callable[[str], None] | None,
        seed: int | None,
    ) -> tuple[Shared, MemorySink]:
        trace_sink = MemorySink()
        shared = Shared(
            frames=frames,
            llm_for=self.llm_for,
            tools=self.tools,
            memory=self.memory,
            sink=FanoutSink(trace_sink, sink) if sink is not None else trace_sink,
            budget=Budget(limits),
            semaphore=asyncio.Semaphore(limits.max_parallel),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=self.seed if seed is None else seed,
            on_delta=on_delta,
        )

        async def run_sub(frame: str, text: str, **kw: Any) -> RunResult:
            return await self._run_frame(shared, frame, text, **kw)

        shared.run_sub = run_sub
        return shared, trace_sink

    async def resume(
        self,
        run_id: str,
        history: Sequence[Event],
        *,
        frames: FrameSet,
        sink: EventSink | None = None,
        on_delta: Callable[[str], None] | None = None,
    ) -> RunResult:
        """Continue an interrupted run from its last keyframe. Calls it made after that
        keyframe are answered from ``history`` (the ledger) instead of the model."""
        mine = [e for e in history if e.run_id == run_id]
        started = next((e for e in mine if isinstance(e, RunStarted)), None)
        if started is None:
            raise RunSetupError(f"run {run_id} has no run_started record")
        if started.parent_run_id is not None:
            raise RunSetupError(
                f"run {run_id} is a sub-run", fix=f"resume its root run {started.parent_run_id}"
            )
        done = next((e for e in mine if isinstance(e, RunFinished)), None)
        if done is not None:
            raise RunSetupError(f"run {run_id} already finished ({done.status}: {done.reason})")
        loaded = frames.get_frame(started.frame.split("@")[0])
        if loaded.sha256 != started.frame_sha256:
            raise RunSetupError(
                f"frame {started.frame} is not the content the run started with",
                fix="restore it (`overlay frames rollback …`) or start a new run",
            )
        shared, trace_sink = self._shared(
            frames, loaded.frame.budgets, sink, on_delta, started.seed
        )
        ctx = RunContext(run_id, loaded, started.input, started.goal, 0, None)
        keyframes = [e for e in mine if isinstance(e, Keyframe)]
        start, after = ctx.frame.phases[0].id, -1
        if keyframes:
            last = keyframes[-1]
            ctx.restore(last.state)
            shared.budget.steps = last.budget["steps"]
            shared.budget.llm_calls = last.budget["llm_calls"]
            shared.budget.tokens = last.budget["tokens"]
            shared.call_counter = last.call_counter
            start, after = last.next, last.seq
        reused = 0
        for event in mine:
            if isinstance(event, LLMCall) and event.seq > after and event.error is None:
                key = request_key(event.messages, event.params, event.schema_, event.choices)
                shared.recorded.setdefault(key, []).append(event)
                reused += 1
        shared.seq[run_id] = max(e.seq for e in mine) + 1
        shared.emit(RunResumed(run_id=run_id, from_phase=start, reused_calls=reused))
        result = await self._drive(shared, ctx, start, stream=True)
        result.trace = build_trace([*history, *trace_sink.events], run_id)
        return result

    async def _run_frame(
        self,
        shared: Shared,
        frame_id: str,
        input: str,
        *,
        goal: str | None = None,
        depth: int = 0,
        parent_run_id: str | None = None,
        parent_span: str | None = None,
        run_id: str | None = None,
        stream: bool = True,
    ) -> RunResult:
        loaded = shared.frames.get_frame(frame_id)
        ctx = RunContext(
            run_id=run_id or new_run_id(),
            loaded=loaded,
            input=input,
            goal=goal,
            depth=depth,
            parent_span=parent_span,
        )
        shared.emit(
            RunStarted(
                run_id=ctx.run_id,
                parent_span=parent_span,
                frame=loaded.ref,
                frame_sha256=loaded.sha256,
                input=input,
                goal=goal,
                parent_run_id=parent_run_id,
                depth=depth,
                model=shared.llm_for(None, None).model_id,
                seed=shared.seed,
            )
        )
        return await self._drive(shared, ctx, ctx.frame.phases[0].id, stream)

    async def _drive(self, shared: Shared, ctx: RunContext, start: str, stream: bool) -> RunResult:
        """Run the state machine from ``start`` and end with exactly one ``RunFinished``."""
        budget = shared.budget
        calls0, tokens0, started = budget.llm_calls, budget.tokens, time.monotonic()
        status: RunStatus = "ok"
        reason = "completed"
        try:
            budget.check_depth(ctx.depth)
            async with asyncio.timeout(max(0.0, budget.remaining_seconds())):
                await self._loop(shared, ctx, stream, start)
        except TimeoutError:
            status, reason = "stopped", "budget:max_seconds"
        except BudgetExhausted as exc:
            status, reason = "stopped", exc.reason
        except PhaseFailed as exc:
            status, reason = "error", f"error:{exc}"
        except (jinja2.TemplateError, jinja2.exceptions.SecurityError) as exc:
            status, reason = "error", f"error:template: {exc}"
        except OverlayError as exc:
            status, reason = "error", f"error:{exc.what}"
        except asyncio.CancelledError:
            self._finish(shared, ctx, "cancelled", "cancelled", calls0, tokens0, started)
            raise
        except Exception as exc:
            self._finish(
                shared,
                ctx,
                "error",
                f"error:internal: {type(exc).__name__}: {exc}",
                calls0,
                tokens0,
                started,
            )
            raise
        return self._finish(shared, ctx, status, reason, calls0, tokens0, started)

    def _finish(
        self,
        shared: Shared,
        ctx: RunContext,
        status: RunStatus,
        reason: str,
        calls0: int,
        tokens0: int,
        started: float,
    ) -> RunResult:
        output = ctx.answer
        if not output and ctx.outputs:
            output = list(ctx.outputs.values())[-1].text
        result = RunResult(
            run_id=ctx.run_id,
            frame=ctx.loaded.ref,
            status=status,
            reason=reason,
            output=output,
            outputs=dict(ctx.outputs),
            llm_calls=shared.budget.llm_calls - calls0,
            tokens=shared.budget.tokens - tokens0,
            duration_s=time.monotonic() - started,
        )
        shared.emit(
            RunFinished(
                run_id=ctx.run_id,
                parent_span=ctx.parent_span,
                status=status,
                reason=reason,
                output=output,
                llm_calls=result.llm_calls,
                tokens=result.tokens,
                duration_s=result.duration_s,
            )
        )
        return result

    async def _loop(self, shared: Shared, ctx: RunContext, stream: bool, start: str) -> None:
        frame = ctx.frame
        current = start
        while current != END:
            phase = frame.phase(current)
            shared.budget.take_step()
            iteration = ctx.iteration(phase.id)
            span = uuid.uuid4().hex[:12]
            shared.emit(
                PhaseStarted(
                    run_id=ctx.run_id,
                    span=span,
                    phase=phase.id,
                    kind=phase.kind.value,
                    iteration=iteration,
                    step=shared.budget.steps,
                )
            )
            began = time.monotonic()
            run = PhaseRun(
                shared=shared,
                ctx=ctx,
                phase=phase,
                iteration=iteration,
                span=span,
                terminal=stream and frame.is_terminal(phase),
                call=Caller(shared, ctx, phase, span),
            )
            output = await EXECUTORS[phase.kind](run)
            ctx.record(phase, output)
            current = self._next(ctx, phase)
            shared.emit(
                PhaseFinished(
                    run_id=ctx.run_id,
                    span=span,
                    phase=phase.id,
                    kind=phase.kind.value,
                    iteration=iteration,
                    output=output.model_dump(mode="json"),
                    next=current,
                    duration_s=time.monotonic() - began,
                )
            )
            budget = shared.budget
            shared.emit(
                Keyframe(
                    run_id=ctx.run_id,
                    span=span,
                    phase=phase.id,
                    next=current,
                    state=ctx.snapshot(),
                    budget={
                        "steps": budget.steps,
                        "llm_calls": budget.llm_calls,
                        "tokens": budget.tokens,
                    },
                    call_counter=shared.call_counter,
                )
            )

    @staticmethod
    def _next(ctx: RunContext, phase: Phase) -> str:
        if phase.when:
            variables = ctx.variables(phase, {"iteration": len(ctx.visits.get(phase.id, ()))})
            for rule in phase.when:
                if templates.evaluate(rule.if_, variables):
                    return rule.goto
        return phase.next or ctx.frame.following(phase.id)
