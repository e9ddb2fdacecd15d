"""An eval's results on disk: one JSONL line per (frame, item), appended and fsynced as each
item finishes, plus ``spec.json`` and ``summary.json`` beside it.

A crash loses at most the item in flight: on open, a torn last line (a write cut off by the
crash) is cut away before anything is appended, so the file stays valid JSONL. A later run with
the same arguments reads the file and skips every (frame version, item) it already holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from overlayagi.evals.data import EvalDataError


@dataclass
class ItemResult:
    frame: str  # the frame's ref, id@version: results of another version are not reused
    item: str
    index: int  # position in the task's item order
    prediction: str | None
    gold: str
    correct: bool
    status: str  # the run's status: ok, stopped, error
    run_id: str  # `overlay ledger show RUN` shows how the frame got there
    llm_calls: int
    tokens: int
    seconds: float
    output: str
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> ItemResult:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k in row})


class ResultsFile:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "results.jsonl"
        folder.mkdir(parents=True, exist_ok=True)
        self._repair()

    def _repair(self) -> None:
        """Cut a torn last line (no newline at the end: the process died mid-write)."""
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            keep = raw.rfind(b"\n") + 1
            with self.path.open("r+b") as fh:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())

    def load(self) -> list[ItemResult]:
        if not self.path.exists():
            return []
        rows: list[ItemResult] = []
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(ItemResult.from_json(json.loads(line)))
                except (ValueError, TypeError, KeyError) as exc:
                    raise EvalDataError(
                        f"results line {number} is damaged: {exc}",
                        where=f"{self.path}:{number}",
                        fix="delete that line (the item is then run again) or the folder",
                    ) from exc
        return rows

    def append(self, result: ItemResult) -> None:
        line = json.dumps(asdict(result), ensure_ascii=False) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def write_json(self, name: str, value: Any) -> None:
        """``spec.json`` / ``summary.json``, replaced atomically."""
        target = self.folder / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target)


def done_keys(rows: Iterable[ItemResult]) -> set[tuple[str, str]]:
    return {(r.frame, r.item) for r in rows}
