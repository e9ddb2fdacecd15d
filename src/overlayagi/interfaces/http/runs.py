"""Runs started over HTTP: each is an asyncio task whose events are kept for subscribers.

Events go to the ledger (as for every run) and to a live buffer; ``follow`` replays the buffer
and then waits for more, so a client that connects late still sees the whole run. A finished
run that is no longer live is read back from the ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from overlayagi.mind.events import Event, EventSink, FanoutSink, RunFinished
from overlayagi.mind.runner import RunResult, new_run_id
from overlayagi.workspace import Workspace

KEEP_FINISHED = 200


@dataclass
class LiveRun:
    run_id: str
    frame: str
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[RunResult] | None = None
    result: RunResult | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    def emit(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()


class _LiveSink:
    def __init__(self, run: LiveRun) -> None:
        self.run = run

    def emit(self, event: Event) -> None:
        self.run.emit(event)


class RunManager:
    def __init__(self, workspace: Workspace, metrics: EventSink | None = None) -> None:
        self.ws = workspace
        self.metrics = metrics
        self.live: dict[str, LiveRun] = {}

    def start(
        self, frame: str, text: str, *, goal: str | None = None, seed: int | None = None
    ) -> LiveRun:
        ref, frames = self.ws.frame_library().pinned(frame)
        frames.get_frame(ref)  # a bad frame is an error now, not inside the task
        run = LiveRun(new_run_id(), ref)
        sinks: list[EventSink] = [self.ws.ledger_sink(), _LiveSink(run)]
        if self.metrics is not None:
            sinks.append(self.metrics)
        sink = FanoutSink(*sinks)
        runner = self.ws.runner(seed=seed)

        async def go() -> RunResult:
            try:
                result = await runner.run(
                    ref, text, goal=goal, sink=sink, run_id=run.run_id, frames=frames
                )
                run.result = result
                return result
            except BaseException as exc:
                run.error = f"{type(exc).__name__}: {exc}"
                raise
            finally:
                run.changed.set()

        run.task = asyncio.create_task(go())
        self.live[run.run_id] = run
        self._forget_old()
        return run

    def _forget_old(self) -> None:
        finished = [r for r in self.live.values() if r.done]
        for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.live[old.run_id]

    def cancel(self, run_id: str) -> bool:
        run = self.live.get(run_id)
        if run is None or run.task is None or run.task.done():
            return False
        run.task.cancel()
        return True

    async def follow(self, run_id: str) -> AsyncIterator[Event]:
        """Every event of a live run, the past ones first, until it finishes."""
        run = self.live[run_id]
        sent = 0
        while True:
            run.changed.clear()
            while sent < len(run.events):
                event = run.events[sent]
                sent += 1
                yield event
                if isinstance(event, RunFinished) and event.run_id == run_id:
                    return
            if run.done:
                return
            await run.changed.wait()

    def summary(self, run: LiveRun) -> dict[str, Any]:
        out: dict[str, Any] = {"run_id": run.run_id, "frame": run.frame, "live": not run.done}
        if run.result is not None:
            out.update(
                status=run.result.status,
                reason=run.result.reason,
                output=run.result.output,
                llm_calls=run.result.llm_calls,
                tokens=run.result.tokens,
                duration_s=run.result.duration_s,
            )
        elif run.error is not None:
            out.update(status="error", reason=run.error)
        else:
            out.update(status="running")
        return out
