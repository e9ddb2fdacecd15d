"""The ledger's hash chain: ``hash = sha256(prev_hash ‖ canonical JSON of the record)``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical(run_id: str, seq: int, ts: float, type_: str, payload: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the same record always gives the same bytes."""
    record = {"run_id": run_id, "seq": seq, "ts": ts, "type": type_, "payload": payload}
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical_record: str) -> str:
    return hashlib.sha256((prev_hash + canonical_record).encode("utf-8")).hexdigest()


def payload_text(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
