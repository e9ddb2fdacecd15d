"""Child process for the crash-safety test: writes messages and ledger events forever,
printing each acknowledged (committed) write to stdout, until it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

from overlayagi.memory.ledger import LedgerSink
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.mind.events import PhaseStarted, RunStarted


def main(path: str, tag: str) -> None:
    store = SQLiteStore(Path(path))
    session = store.ensure_session("crash")
    sink = LedgerSink(store)
    run_id = f"crash-{tag}"
    sink.emit(
        RunStarted(
            run_id=run_id,
            seq=0,
            frame="direct@1.0.0",
            frame_sha256="x",
            input="crash test",
            model="none",
        )
    )
    seq = 1
    while True:
        (message,) = store.add_messages(session.id, [("user", f"{tag} message {seq}", 3)])
        print(f"m {message.id}", flush=True)
        sink.emit(
            PhaseStarted(
                run_id=run_id, seq=seq, phase="p", kind="generate", iteration=seq, step=seq
            )
        )
        print(f"e {run_id} {seq}", flush=True)
        seq += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
