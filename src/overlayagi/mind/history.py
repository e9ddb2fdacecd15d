"""A run's events read back from the ledger, with those of every sub-run it started."""

from __future__ import annotations

from overlayagi.memory.ledger import event_dict
from overlayagi.memory.store import Store
from overlayagi.mind.events import Event, parse_event


def run_events(store: Store, run_id: str) -> list[Event]:
    children: dict[str, list[str]] = {}
    for run in store.runs(limit=1_000_000):
        if run.parent_run_id:
            children.setdefault(run.parent_run_id, []).append(run.run_id)
    wanted, queue = [], [run_id]
    while queue:
        current = queue.pop()
        wanted.append(current)
        queue.extend(children.get(current, []))
    records = sorted((r for w in wanted for r in store.ledger(w)), key=lambda r: r.id)
    return [parse_event(event_dict(r)) for r in records]
