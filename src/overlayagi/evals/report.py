"""Per-frame figures from item results: accuracy with its 95 % interval, and the cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from overlayagi.evals.results import ItemResult
from overlayagi.evals.stats import paired_difference, wilson_interval


@dataclass(frozen=True)
class Versus:
    """This frame minus another, item by item on the items both have: the paired difference
    in accuracy (points as a fraction) with its 95 % interval, and the discordant items."""

    frame: str
    items: int
    delta: float
    ci_low: float
    ci_high: float
    wins: int  # right here, wrong there
    losses: int  # wrong here, right there


@dataclass(frozen=True)
class FrameSummary:
    frame: str
    items: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    llm_calls_per_item: float
    tokens_per_item: float
    seconds_per_item: float
    errors: int  # runs that ended in an error (scored as wrong)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    """Accuracy per group of items (``lang=ru``, ``kind=negative``, ``subject=…``)."""
    versus: Versus | None = None
    """Against the first frame, on the items both have a result for (absent for the first)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


GROUP_KEYS = ("lang", "kind", "subject")


def _groups(rows: Sequence[ItemResult]) -> dict[str, dict[str, float]]:
    buckets: dict[str, list[bool]] = {}
    for row in rows:
        for key in GROUP_KEYS:
            if row.detail.get(key):
                buckets.setdefault(f"{key}={row.detail[key]}", []).append(row.correct)
    return {
        name: {"items": len(hits), "accuracy": round(sum(hits) / len(hits), 4)}
        for name, hits in sorted(buckets.items())
    }


def versus(mine: Sequence[ItemResult], theirs: Sequence[ItemResult], frame: str) -> Versus:
    """Paired comparison on the items both sets of results cover."""
    theirs_by_item = {r.item: r.correct for r in theirs}
    pairs = [(r.correct, theirs_by_item[r.item]) for r in mine if r.item in theirs_by_item]
    wins = sum(a and not b for a, b in pairs)
    losses = sum(b and not a for a, b in pairs)
    delta, low, high = paired_difference(wins, losses, len(pairs))
    return Versus(frame, len(pairs), round(delta, 4), round(low, 4), round(high, 4), wins, losses)


def summarise(rows: Sequence[ItemResult], frames: Sequence[str]) -> list[FrameSummary]:
    """One summary per frame ref in ``frames`` order, over the rows of that ref; every frame
    after the first is also compared with the first, item by item."""
    out: list[FrameSummary] = []
    first = [r for r in rows if frames and r.frame == frames[0]]
    for frame in frames:
        mine = [r for r in rows if r.frame == frame]
        n = len(mine)
        correct = sum(r.correct for r in mine)
        low, high = wilson_interval(correct, n)
        out.append(
            FrameSummary(
                frame=frame,
                items=n,
                correct=correct,
                accuracy=round(correct / n, 4) if n else 0.0,
                ci_low=round(low, 4),
                ci_high=round(high, 4),
                llm_calls_per_item=round(sum(r.llm_calls for r in mine) / n, 2) if n else 0.0,
                tokens_per_item=round(sum(r.tokens for r in mine) / n, 1) if n else 0.0,
                seconds_per_item=round(sum(r.seconds for r in mine) / n, 3) if n else 0.0,
                errors=sum(r.status == "error" for r in mine),
                groups=_groups(mine),
                versus=versus(mine, first, frames[0]) if frame != frames[0] else None,
            )
        )
    return out
