"""Benchmark tasks: how an item becomes a frame's input, and how the frame's answer is scored.

Every frame gets the same input for an item, so the table compares frames, not prompts. The
answer is read out of the run's final output by the task's extractor (``extract.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from overlayagi.evals import data
from overlayagi.evals.data import EvalDataError, Item
from overlayagi.evals.extract import extract_choice, extract_code, extract_number

AnswerKind = Literal["number", "letter", "code", "text"]


@dataclass(frozen=True)
class Scored:
    prediction: str | None  # the answer read out of the output (None: none found)
    correct: bool
    detail: dict[str, Any] = field(default_factory=dict)


class Task(Protocol):
    name: str
    answer_kind: AnswerKind
    """What a ``vote`` phase should compare between samples for this task."""

    def items(self, path: Path | None) -> list[Item]: ...
    def prompt(self, item: Item) -> str: ...
    async def score(self, item: Item, output: str) -> Scored: ...


class GSM8K:
    name = "gsm8k"
    answer_kind: AnswerKind = "number"

    def items(self, path: Path | None) -> list[Item]:
        return data.gsm8k(path)

    def prompt(self, item: Item) -> str:
        return (
            f"{item.question}\n\nSolve the problem step by step, then finish with the final "
            'answer on its own line as "The answer is N", where N is a number.'
        )

    async def score(self, item: Item, output: str) -> Scored:
        predicted = extract_number(output)
        return Scored(predicted, predicted is not None and predicted == item.gold)


class MMLU:
    name = "mmlu"
    answer_kind: AnswerKind = "letter"

    def items(self, path: Path | None) -> list[Item]:
        return data.mmlu(path)

    def prompt(self, item: Item) -> str:
        # Options on their own lines as "A. …": the `select` frame reads them with `options`.
        lettered = zip("ABCD", item.choices, strict=False)
        options = "\n".join(f"{letter}. {text}" for letter, text in lettered)
        return f"{item.question}\n\n{options}\n\nAnswer with the letter of the correct option."

    async def score(self, item: Item, output: str) -> Scored:
        predicted = extract_choice(output, item.choices)
        return Scored(predicted, predicted == item.gold, {"subject": item.meta.get("subject")})


Sandbox = Callable[[str], Any]


class HumanEval:
    """pass@1: one completion per problem, run with the problem's tests in the ``python``
    sandbox (no network, rlimits, a temporary directory, a wall-clock timeout)."""

    name = "humaneval"
    answer_kind: AnswerKind = "code"

    def __init__(self, timeout_s: float = 10.0, memory_mb: int = 512) -> None:
        from overlayagi.mind.tools.sandbox import PythonSandbox

        self.sandbox = PythonSandbox(timeout_s=timeout_s, memory_mb=memory_mb)

    def items(self, path: Path | None) -> list[Item]:
        return data.humaneval(path)

    def prompt(self, item: Item) -> str:
        return (
            "Complete this Python function. Reply with the whole function (its signature "
            f"included) in one ```python code block.\n\n```python\n{item.question}```"
        )

    @staticmethod
    def program(item: Item, output: str) -> str:
        """The candidate as a runnable test: the prompt's imports and helpers, the model's
        code (the prompt prepended when the model wrote only the body), the tests, check()."""
        code = extract_code(output)
        entry = str(item.meta["entry_point"])
        if not re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(", code, re.M):
            code = item.question + code  # a bare body continues the prompt's signature
        else:
            code = item.question + "\n    pass\n\n" + code  # helpers from the prompt stay
        return f"{code}\n\n{item.meta['test']}\n\ncheck({entry})\n"

    async def score(self, item: Item, output: str) -> Scored:
        result = await self.sandbox.execute(self.program(item, output))
        detail = {"sandbox": result.output[-500:]} if result.error else {}
        return Scored(extract_code(output)[:2000], not result.error, detail)


# "Not in the vault" in English and Russian, for the negative questions of vault QA.
_NOT_FOUND = re.compile(
    r"(?i)(does ?n[o']t (contain|have|cover|mention)|no (note|information|mention)|"
    r"not (in|covered|mentioned|found)|couldn't find|cannot find|can't find|"
    r"не (содерж|упомина|описан|найд|наш|опис|привод)|нет (заметк|информац|сведени|ответ))"
)
_CITATION = re.compile(r"\[\[([^\]|#^]+)")


class VaultQA:
    """Questions over the workspace's indexed vault (the retrieval question files). Correct =
    cites a gold note and covers at least half of the reference answer's content words; for a
    negative (no gold notes), correct = says the vault does not contain the answer."""

    name = "vault_qa"
    answer_kind: AnswerKind = "text"

    def __init__(self, vault: Any) -> None:
        self.vault = vault  # overlayagi.memory.vault.service.Vault, already ingested

    def items(self, path: Path | None) -> list[Item]:
        if path is None:
            raise EvalDataError(
                "vault_qa needs a question file",
                fix="pass --data questions.jsonl (id, lang, question, gold, answer, kind)",
            )
        self.vault.require_root()
        return data.vault_qa(path)

    def prompt(self, item: Item) -> str:
        return item.question

    async def score(self, item: Item, output: str) -> Scored:
        import json

        gold = set(json.loads(item.gold))
        cited = {self.vault.resolve(name.strip()) for name in _CITATION.findall(output)}
        cited.discard(None)
        groups = {k: str(item.meta[k]) for k in ("lang", "kind") if item.meta.get(k)}
        if not gold:
            says_missing = bool(_NOT_FOUND.search(output))
            return Scored("not found" if says_missing else None, says_missing, groups)
        reference = str(item.meta.get("answer") or "")
        overlap = self._overlap(reference, output)
        cites_gold = bool(cited & gold)
        return Scored(
            ", ".join(sorted(str(c) for c in cited)) or None,
            cites_gold and overlap >= 0.5,
            {**groups, "cites_gold": cites_gold, "answer_overlap": round(overlap, 3)},
        )

    def _overlap(self, reference: str, output: str) -> float:
        """Share of the reference answer's content terms (lemmas/stems) found in the output."""
        wanted = set(self.vault.normaliser.terms(reference))
        if not wanted:
            return 1.0
        return len(wanted & set(self.vault.normaliser.terms(output))) / len(wanted)


TASK_NAMES = ("gsm8k", "mmlu", "humaneval", "vault_qa")


def make_task(name: str, *, vault: Callable[[], Any] | None = None) -> Task:
    if name == "gsm8k":
        return GSM8K()
    if name == "mmlu":
        return MMLU()
    if name == "humaneval":
        return HumanEval()
    if name == "vault_qa":
        if vault is None:
            raise EvalDataError("vault_qa needs a workspace with an indexed vault")
        return VaultQA(vault())
    raise EvalDataError(f"unknown task '{name}'", fix=f"use one of: {', '.join(TASK_NAMES)}")
