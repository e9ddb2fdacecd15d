"""Budgets: one counter per root run, shared by its ``call`` sub-runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from overlayagi.frames.spec import Budgets


class BudgetExhausted(Exception):
    """Ends a run with ``stopped`` and ``reason`` = ``budget:<limit>``."""

    def __init__(self, limit: str) -> None:
        super().__init__(f"budget:{limit}")
        self.reason = f"budget:{limit}"


@dataclass
class Budget:
    limits: Budgets
    steps: int = 0
    llm_calls: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    def take_step(self) -> None:
        if self.steps >= self.limits.max_steps:
            raise BudgetExhausted("max_steps")
        self.steps += 1

    def take_call(self) -> None:
        """Reserve one LLM call (before making it)."""
        if self.llm_calls >= self.limits.max_llm_calls:
            raise BudgetExhausted("max_llm_calls")
        if self.tokens >= self.limits.max_tokens:
            raise BudgetExhausted("max_tokens")
        self.llm_calls += 1

    def cap_tokens(self, wanted: int) -> int:
        """``max_tokens`` for the next call, within what is left."""
        return max(1, min(wanted, self.limits.max_tokens - self.tokens))

    def spend_tokens(self, n: int) -> None:
        self.tokens += n

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining_seconds(self) -> float:
        return self.limits.max_seconds - self.elapsed

    def check_depth(self, depth: int) -> None:
        limit = self.limits.max_depth
        if limit is not None and depth > limit:
            raise BudgetExhausted("max_depth")
        if limit is None and depth > 8:
            raise BudgetExhausted("max_depth")
