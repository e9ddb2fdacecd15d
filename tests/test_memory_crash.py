"""Crash safety: SIGKILL at random moments never corrupts the store or loses acknowledged
writes; a killed run shows as interrupted and resumes from its last keyframe."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from overlayagi.memory.ledger import LedgerSink, event_dict, verify
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.mind.events import LLMCall, parse_event

ROOT = Path(__file__).resolve().parent.parent


def child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_sigkill_twenty_times_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "overlay.db"
    rng = random.Random(20261121)
    acknowledged_messages: set[int] = set()
    acknowledged_events: set[tuple[str, int]] = set()
    for round_ in range(20):
        proc = child("-m", "tests.crash_writer", str(db), str(round_))
        time.sleep(rng.uniform(0.1, 0.6))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "m":
                acknowledged_messages.add(int(parts[1]))
            elif len(parts) == 3 and parts[0] == "e":
                acknowledged_events.add((parts[1], int(parts[2])))
        store = SQLiteStore(db)  # opens: integrity check and migrations pass
        verdict = verify(store)
        assert verdict.ok, f"round {round_}: {verdict}"
        session = store.get_session("crash")
        assert session is not None
        present = {m.id for m in store.messages(session.id)}
        assert acknowledged_messages <= present, f"round {round_}: lost acknowledged messages"
        events = {(r.run_id, r.seq) for r in store.ledger()}
        assert acknowledged_events <= events, f"round {round_}: lost acknowledged events"
        store.close()
    assert len(acknowledged_messages) > 20 and len(acknowledged_events) > 20


def test_a_killed_run_is_interrupted_and_resumes_from_its_keyframe(tmp_path: Path) -> None:
    from tests.resume_child import runner

    db, frames = tmp_path / "overlay.db", tmp_path / "frames"
    proc = child("-m", "tests.resume_child", str(db), str(frames))
    store = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once phase "one" has its keyframe
        time.sleep(0.1)
        if not db.exists():
            continue
        store = SQLiteStore(db)
        kinds = [(r.type, r.payload) for r in store.ledger("resumable000001")]
        if any(t == "keyframe" for t, _ in kinds):
            break
        store.close()
        store = None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert store is not None
    store.close()
    store = SQLiteStore(db)
    run = store.run("resumable000001")
    assert run is not None and run.shown_status == "interrupted"

    history = [parse_event(event_dict(r)) for r in store.ledger()]
    calls_before = sum(isinstance(e, LLMCall) for e in history)
    resumed_runner, llm = runner(frames, delay=0.0)
    frames_now = resumed_runner.snapshot()
    result = asyncio.run(
        resumed_runner.resume("resumable000001", history, frames=frames_now, sink=LedgerSink(store))
    )
    assert result.status == "ok"
    assert result.output == "<three after <two after <one: go>>>"
    # phase one was not asked again; at most the interrupted phase's call was answered
    # from the ledger
    assert all(c["messages"][-1].content != "one: go" for c in llm.calls)
    assert calls_before + len(llm.calls) >= 3
    assert store.run("resumable000001").shown_status == "ok"  # type: ignore[union-attr]
    assert verify(store).ok
    types = [r.type for r in store.ledger("resumable000001")]
    assert "run_resumed" in types and types[-1] == "run_finished"
