"""Memory speed: ledger append and verify rates, turn-context assembly with 10k stored
messages, insight retrieval — each against a baseline measured in the same run.

Baselines: appends are compared with bare ``INSERT``s of the same rows into a plain SQLite
table, one transaction each (what the hash chain and run index cost on top); verify with
re-reading the same rows; context assembly with reading the whole session (what the bounded
window saves); insight retrieval with embedding the query alone (the floor for any semantic
lookup). Goal: context assembly ≤ 20 ms at 10k messages.

    python bench/memory.py [--events 5000] [--messages 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from overlayagi.memory.insights import InsightMemory
from overlayagi.memory.ledger import LedgerSink, verify
from overlayagi.memory.records import Insight
from overlayagi.memory.sessions import SessionMemory
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.mind.events import PhaseStarted
from overlayagi.workspace import Workspace


def timed(fn, repeat: int = 1) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "overlay.db")
        sink = LedgerSink(store)
        events = [
            PhaseStarted(run_id="bench", seq=i, phase="p", kind="generate", iteration=i, step=i)
            for i in range(args.events)
        ]
        append_s = timed(lambda: [sink.emit(e) for e in events])
        raw = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("PRAGMA synchronous = NORMAL")
        raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        payloads = [e.model_dump_json() for e in events]

        def bare() -> None:
            for p in payloads:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("INSERT INTO t (payload) VALUES (?)", (p,))
                raw.execute("COMMIT")

        bare_s = timed(bare)
        rows["ledger append (events/s)"] = {
            "baseline": args.events / bare_s,
            "overlay": args.events / append_s,
        }
        verify_s = timed(lambda: verify(store), repeat=3)
        read_s = timed(lambda: list(store.ledger()), repeat=3)
        rows["ledger verify (records/s)"] = {
            "baseline": args.events / read_s,
            "overlay": args.events / verify_s,
        }

        info = store.ensure_session("big")
        batch = [
            ("user" if i % 2 == 0 else "assistant", f"message {i} " + "lorem ipsum " * 20, 50)
            for i in range(args.messages)
        ]
        for start in range(0, len(batch), 1000):
            store.add_messages(info.id, batch[start : start + 1000])
        mem = SessionMemory(
            store, info, count_tokens=lambda t: len(t) // 4, context_size=4096, reply_tokens=512
        )
        build_s = timed(mem.build, repeat=20)
        whole_s = timed(lambda: store.messages(info.id), repeat=5)
        rows[f"turn context, {args.messages} msgs (ms)"] = {
            "baseline": whole_s * 1000,
            "overlay": build_s * 1000,
        }

        ws = Workspace.init(Path(tmp) / "ws")
        embedder = ws.build_embedder()
        insights = InsightMemory(store, embedder)
        insights.merge(
            [
                Insight(
                    key=f"k{i}",
                    kind="fact",
                    text=f"The user fact number {i} is about topic {i % 17}.",
                    confidence=0.8,
                )
                for i in range(200)
            ]
        )
        query = "What topic does the user care about?"
        embed_s = timed(lambda: embedder.embed([query], query=True), repeat=10)
        retrieve_s = timed(lambda: insights.relevant(query), repeat=10)
        rows["insight retrieval, 200 insights (ms)"] = {
            "baseline": embed_s * 1000,
            "overlay": retrieve_s * 1000,
        }
    if args.json:
        print(json.dumps(rows))
        return 0
    print("| metric | baseline | overlay | ratio overlay/baseline |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        ratio = r["overlay"] / r["baseline"]
        print(f"| {name} | {r['baseline']:.1f} | {r['overlay']:.1f} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
