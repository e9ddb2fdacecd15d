"""The reasoning ledger: every event of every run, append-only and hash-chained.

``LedgerSink`` implements the runner's ``EventSink`` protocol structurally (memory never
imports ``mind``): each event is one record in a single global chain, so an edited, deleted,
inserted or reordered record breaks a link that ``verify`` finds and names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from overlayagi.memory.hashing import GENESIS, canonical, chain_hash
from overlayagi.memory.records import LedgerRecord, NewLedgerEntry
from overlayagi.memory.store import Store

_ENVELOPE = ("run_id", "seq", "ts")


def entry_of(event: BaseModel) -> NewLedgerEntry:
    """Any runner event (a pydantic model with run_id, seq, ts, type) as a ledger entry."""
    body = event.model_dump(mode="json", by_alias=True)
    payload = {k: v for k, v in body.items() if k not in _ENVELOPE}
    return NewLedgerEntry(body["run_id"], body["seq"], body["ts"], body["type"], payload)


def event_dict(record: LedgerRecord) -> dict[str, Any]:
    """A record back in the shape of the event that made it."""
    return {
        "run_id": record.run_id,
        "seq": record.seq,
        "ts": record.ts,
        **json.loads(record.payload),
    }


class LedgerSink:
    """Writes each event as one committed ledger record before ``emit`` returns."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def emit(self, event: BaseModel) -> None:
        self.store.append_ledger([entry_of(event)])


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    problem: str | None = None
    record_id: int | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.checked} records, chain intact"
        return f"TAMPERED at record #{self.record_id}: {self.problem}"


def _check_record(record: LedgerRecord, prev_hash: str) -> str | None:
    if record.prev_hash != prev_hash:
        return (
            f"run {record.run_id} seq {record.seq}: its prev_hash does not match the record "
            "before it (a record was deleted, inserted or reordered here)"
        )
    try:
        payload = json.loads(record.payload)
    except ValueError:
        return f"run {record.run_id} seq {record.seq}: payload is not JSON (edited)"
    expected = chain_hash(
        prev_hash, canonical(record.run_id, record.seq, record.ts, record.type, payload)
    )
    if expected != record.hash:
        return f"run {record.run_id} seq {record.seq}: content does not match its hash (edited)"
    return None


def verify(store: Store, run_id: str | None = None) -> Verdict:
    """Walk the chain (all of it, or one run's records and their links) and report the first
    record that does not fit."""
    expected_seq: dict[str, int] = {}
    last_seen: dict[str, tuple[str, int]] = {}
    checked = 0
    prev = GENESIS
    for record in store.ledger(run_id):
        if run_id is not None:
            before = store.ledger_before(record.id)
            prev = before.hash if before else GENESIS
        problem = _check_record(record, prev)
        want = expected_seq.get(record.run_id, 0)
        if problem is None and record.seq != want:
            problem = (
                f"run {record.run_id}: seq {record.seq} where {want} was expected "
                "(a record of this run was deleted, inserted or reordered)"
            )
        if problem:
            return Verdict(False, checked, problem, record.id)
        expected_seq[record.run_id] = record.seq + 1
        last_seen[record.run_id] = (record.type, record.id)
        prev = record.hash
        checked += 1
    for run in store.runs(limit=1_000_000):
        if run.status is None or run.run_id not in last_seen:
            continue
        last_type, last_id = last_seen[run.run_id]
        if last_type != "run_finished":
            return Verdict(
                False,
                checked,
                f"run {run.run_id} is recorded as {run.status} but its last records, "
                "including run_finished, are missing (truncated)",
                last_id,
            )
    return Verdict(True, checked)


def export_jsonl(store: Store, run_id: str | None = None) -> Iterator[str]:
    """One JSON object per record, with its hashes, for archiving or external checking."""
    for record in store.ledger(run_id):
        yield json.dumps(
            {
                "id": record.id,
                **event_dict(record),
                "prev_hash": record.prev_hash,
                "hash": record.hash,
            },
            ensure_ascii=False,
        )
