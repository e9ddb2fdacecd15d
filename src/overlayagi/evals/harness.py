"""Run a task's items through frames, score them, store every result, resume where it stopped.

Items go in the task's own fixed order (``offset``/``limit`` cut a window), item by item and,
for each item, frame by frame — so an interrupted eval still compares the frames on the same
items. Each run goes to the ledger like any other (its id is stored with the result).

Frames are run as they are, with one adaptation: a ``vote`` phase that compares whole
outputs (the default) compares the task's answer instead — the number for GSM8K, the letter for
MMLU — so that five samples that agree on "18" in different words count as agreeing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overlayagi.evals.data import EvalDataError, Item
from overlayagi.evals.report import FrameSummary, summarise
from overlayagi.evals.results import ItemResult, ResultsFile, done_keys
from overlayagi.evals.tasks import AnswerKind, Task
from overlayagi.frames.library import FrameSet, LoadedFrame
from overlayagi.frames.spec import Extract, PhaseKind

if TYPE_CHECKING:
    from overlayagi.workspace import Workspace


@dataclass(frozen=True)
class EvalSpec:
    task: str
    frames: tuple[str, ...]
    model: str
    offset: int = 0
    limit: int | None = None
    seed: int = 0
    data: Path | None = None

    def key(self) -> str:
        """What makes two evals the same: not the frames (each result names its frame
        version, so adding a frame later extends the same eval)."""
        data = None
        if self.data is not None:
            data = [str(self.data.resolve()), hashlib.sha256(self.data.read_bytes()).hexdigest()]
        raw = json.dumps([self.task, self.model, self.offset, self.limit, self.seed, data])
        return hashlib.sha256(raw.encode()).hexdigest()[:10]

    def folder_name(self) -> str:
        window = f"{self.offset}-{'all' if self.limit is None else self.offset + self.limit}"
        return f"{self.task}-{self.model}-{window}-s{self.seed}-{self.key()}"


@dataclass(frozen=True)
class Progress:
    frame: str
    done: int  # items this frame has a result for, resumed ones included
    total: int
    correct: int
    resumed: bool  # this result was read back, not run now


def adapt(frames: FrameSet, answer_kind: AnswerKind) -> FrameSet:
    """Vote phases that compare whole outputs compare the task's answer instead."""
    if answer_kind not in ("number", "letter"):
        return frames
    changed: dict[str, LoadedFrame] = {}
    for frame_id in frames:
        loaded = frames[frame_id]
        phases = [
            p.model_copy(update={"extract": Extract(builtin=answer_kind)})
            if p.kind == PhaseKind.VOTE and (p.extract is None or p.extract.builtin == "output")
            else p
            for p in loaded.frame.phases
        ]
        if phases != loaded.frame.phases:
            frame = loaded.frame.model_copy(update={"phases": phases})
            changed[frame_id] = dataclasses.replace(loaded, frame=frame)
    if not changed:
        return frames
    return FrameSet({**{f: frames[f] for f in frames}, **changed}, frames.errors)


class Evaluation:
    def __init__(self, workspace: Workspace, spec: EvalSpec, task: Task) -> None:
        self.ws = workspace
        self.spec = spec
        self.task = task
        self.results = ResultsFile(workspace.root / "evals" / spec.folder_name())

    @property
    def folder(self) -> Path:
        return self.results.folder

    def items(self) -> list[Item]:
        items = self.task.items(self.spec.data)
        if self.spec.offset >= len(items):
            raise EvalDataError(
                f"--offset {self.spec.offset} skips every item: {self.spec.task} has {len(items)}",
                fix=f"use an offset below {len(items)}",
            )
        end = None if self.spec.limit is None else self.spec.offset + self.spec.limit
        return items[self.spec.offset : end]

    def stored(self) -> EvalReport:
        """The figures for what is already stored for these items and frames; runs nothing
        (``overlay eval … --report``)."""
        refs = [ref for ref, _ in self._frames()]
        rows = _belonging(self.results.load(), self.items(), refs)
        return EvalReport(self.spec, self.folder, summarise(rows, refs), 0.0)

    def _frames(self) -> list[tuple[str, FrameSet]]:
        """(frame ref id@version, the snapshot to run it from) per requested frame; a frame
        that does not exist or does not validate is an error before anything runs."""
        library = self.ws.frame_library()
        resolved = []
        for name in self.spec.frames:
            frame_id, snapshot = library.pinned(name)
            loaded = snapshot.get_frame(frame_id)
            resolved.append((loaded.frame.ref, adapt(snapshot, self.task.answer_kind)))
        return resolved

    async def run(self, on_progress: Callable[[Progress], None] | None = None) -> EvalReport:
        started = time.perf_counter()
        items = self.items()
        frames = self._frames()
        refs = [ref for ref, _ in frames]
        if len(set(refs)) != len(refs):
            raise EvalDataError(f"a frame is named twice: {', '.join(self.spec.frames)}")
        self.results.write_json(
            "spec.json",
            {**dataclasses.asdict(self.spec), "data": str(self.spec.data or ""), "frames": refs},
        )
        rows = self.results.load()
        done = done_keys(rows)
        rows = _belonging(rows, items, refs)
        counts = {ref: [0, 0] for ref in refs}  # done, correct
        for row in rows:
            counts[row.frame][0] += 1
            counts[row.frame][1] += row.correct
        if on_progress is not None:
            for ref in refs:
                d, c = counts[ref]
                on_progress(Progress(ref, d, len(items), c, resumed=True))
        runner = self.ws.runner(self.spec.model, seed=self.spec.seed)
        sink = self.ws.ledger_sink()
        try:
            for index, item in enumerate(items, self.spec.offset):
                prompt = self.task.prompt(item)
                for ref, snapshot in frames:
                    if (ref, item.id) in done:
                        continue
                    result = await runner.run(
                        ref.split("@", 1)[0], prompt, sink=sink, frames=snapshot
                    )
                    scored = await self.task.score(item, result.output)
                    row = ItemResult(
                        frame=ref,
                        item=item.id,
                        index=index,
                        prediction=scored.prediction,
                        gold=item.gold,
                        correct=scored.correct and result.status != "error",
                        status=result.status,
                        run_id=result.run_id,
                        llm_calls=result.llm_calls,
                        tokens=result.tokens,
                        seconds=round(result.duration_s, 3),
                        output=result.output,
                        detail={
                            **scored.detail,
                            **({"reason": result.reason} if result.status != "ok" else {}),
                        },
                    )
                    self.results.append(row)
                    rows.append(row)
                    counts[ref][0] += 1
                    counts[ref][1] += row.correct
                    if on_progress is not None:
                        d, c = counts[ref]
                        on_progress(Progress(ref, d, len(items), c, resumed=False))
        finally:
            report = EvalReport(
                self.spec, self.folder, summarise(rows, refs), time.perf_counter() - started
            )
            self.results.write_json("summary.json", report.as_dict())
        return report


def _belonging(
    rows: list[ItemResult], items: Sequence[Item], refs: Sequence[str]
) -> list[ItemResult]:
    """The stored rows of these frames on these items (a folder may hold other frames)."""
    wanted = {item.id for item in items}
    return [r for r in rows if r.frame in refs and r.item in wanted]


@dataclass
class EvalReport:
    spec: EvalSpec
    folder: Path
    frames: Sequence[FrameSummary]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.spec.task,
            "model": self.spec.model,
            "offset": self.spec.offset,
            "limit": self.spec.limit,
            "seed": self.spec.seed,
            "data": str(self.spec.data) if self.spec.data else None,
            "folder": str(self.folder),
            "seconds": round(self.seconds, 2),
            "frames": [f.as_dict() for f in self.frames],
        }
