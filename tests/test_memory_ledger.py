"""The store (migrations, refusal of foreign or damaged files) and the ledger's tamper evidence."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from overlayagi.memory.errors import StoreError
from overlayagi.memory.ledger import LedgerSink, export_jsonl, verify
from overlayagi.memory.migrations import SCHEMA_VERSION
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.mind.events import PhaseStarted, RunFinished, RunStarted


def fill(store: SQLiteStore, runs: int = 2, phases: int = 3) -> list[str]:
    sink = LedgerSink(store)
    ids = []
    for r in range(runs):
        run_id = f"run{r}"
        ids.append(run_id)
        seq = 0
        sink.emit(
            RunStarted(
                run_id=run_id,
                seq=seq,
                frame="cot@1.0.0",
                frame_sha256="x",
                input=f"question {r}",
                model="m",
            )
        )
        for p in range(phases):
            seq += 1
            sink.emit(
                PhaseStarted(
                    run_id=run_id, seq=seq, phase=f"p{p}", kind="generate", iteration=1, step=p + 1
                )
            )
        seq += 1
        sink.emit(
            RunFinished(
                run_id=run_id,
                seq=seq,
                status="ok",
                reason="completed",
                output="done",
                llm_calls=1,
                tokens=5,
                duration_s=0.1,
            )
        )
    return ids


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "overlay.db")


def tamper(store: SQLiteStore, *sql: str) -> None:
    db = sqlite3.connect(store.path)
    db.execute("DROP TRIGGER ledger_no_update")
    db.execute("DROP TRIGGER ledger_no_delete")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


def test_new_store_is_migrated_and_reopens(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "overlay.db")
    assert store.schema_version == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()
    again = SQLiteStore(tmp_path / "overlay.db")
    assert again.schema_version == SCHEMA_VERSION


def test_intact_ledger_verifies(store: SQLiteStore) -> None:
    fill(store)
    verdict = verify(store)
    assert verdict.ok and verdict.checked == 10
    assert verify(store, "run1").ok
    runs = {r.run_id: r.shown_status for r in store.runs()}
    assert runs == {"run0": "ok", "run1": "ok"}
    lines = list(export_jsonl(store))
    assert len(lines) == 10 and '"hash"' in lines[0]


def test_the_ledger_refuses_updates_and_deletes(store: SQLiteStore) -> None:
    fill(store, runs=1)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE ledger SET payload = '{}' WHERE id = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM ledger WHERE id = 2")


@pytest.mark.parametrize(
    ("attack", "first_bad"),
    [
        ("UPDATE ledger SET payload = replace(payload, 'p1', 'pX') WHERE id = 3", 3),
        ("DELETE FROM ledger WHERE id = 3", 4),
        (
            "UPDATE ledger SET id = id + 100 WHERE id IN (3, 4); "
            "UPDATE ledger SET id = 4 WHERE id = 103; UPDATE ledger SET id = 3 WHERE id = 104",
            3,
        ),
        (
            "UPDATE ledger SET id = id + 1000 WHERE id >= 4; "
            "INSERT INTO ledger (id, run_id, seq, ts, type, payload, prev_hash, hash) "
            "SELECT 4, run_id, seq, ts, type, payload, hash, 'forged' FROM ledger WHERE id = 3; "
            "UPDATE ledger SET id = id - 999 WHERE id >= 1004",
            4,
        ),
        ("UPDATE ledger SET ts = ts + 1 WHERE id = 7", 7),
    ],
    ids=["edit", "delete", "reorder", "insert", "edit-time"],
)
def test_tampering_is_detected_and_named(store: SQLiteStore, attack: str, first_bad: int) -> None:
    fill(store)
    tamper(store, *attack.split("; "))
    verdict = verify(store)
    assert not verdict.ok
    assert verdict.record_id == first_bad, verdict
    assert "TAMPERED at record #" in str(verdict)


def test_truncating_a_finished_run_is_detected(store: SQLiteStore) -> None:
    fill(store)
    tamper(store, "DELETE FROM ledger WHERE id = 10")
    verdict = verify(store)
    assert not verdict.ok and "truncated" in (verdict.problem or "")


def test_a_foreign_file_is_refused_not_reset(tmp_path: Path) -> None:
    text = tmp_path / "overlay.db"
    text.write_text("not a database at all, my notes")
    with pytest.raises(StoreError, match="is not an SQLite database") as info:
        SQLiteStore(text)
    assert str(text) in str(info.value)
    assert text.read_text() == "not a database at all, my notes"

    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="another application"):
        SQLiteStore(other)


def test_a_damaged_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "overlay.db"
    store = SQLiteStore(path)
    fill(store, runs=20, phases=20)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(path.read_bytes())
    for i in range(4096 + 100, min(len(data), 4096 * 6), 7):
        data[i] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"damaged|cannot be used") as info:
        SQLiteStore(path)
    assert str(path) in str(info.value)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "overlay.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (999, 0)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this Overlay knows"):
        SQLiteStore(path)
