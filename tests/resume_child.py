"""Child process for the resume test: runs a three-step frame with a slow scripted model and a
ledger sink, until the parent kills it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from overlayagi.frames.library import FrameLibrary
from overlayagi.memory.ledger import LedgerSink
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.mind.runner import Runner
from overlayagi.mind.tools import default_registry
from tests.fakes import FakeLLM

FRAME = """\
id: steps
version: 1.0.0
phases:
  - id: one
    kind: generate
    prompt: "one: {{ input }}"
  - id: two
    kind: generate
    prompt: "two after {{ outputs.one.text }}"
  - id: three
    kind: generate
    prompt: "three after {{ outputs.two.text }}"
"""


def echo(messages, _kwargs):  # type: ignore[no-untyped-def]
    return "<" + messages[-1].content + ">"


def runner(frames_dir: Path, delay: float) -> tuple[Runner, FakeLLM]:
    llm = FakeLLM(echo, delay=delay)
    library = FrameLibrary(frames_dir, known_tools=default_registry(), include_builtin=False)
    return Runner(library.refresh, lambda _m, _a: llm, seed=5), llm


def main(db: str, frames_dir: str) -> None:
    folder = Path(frames_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "steps.yaml").write_text(FRAME)
    run, _ = runner(folder, delay=0.4)
    sink = LedgerSink(SQLiteStore(Path(db)))
    asyncio.run(run.run("steps", "go", sink=sink, run_id="resumable000001"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
