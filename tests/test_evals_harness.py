"""The eval harness: results stored per item, resume after a crash (torn last line included),
vote phases comparing the task's answer, the task scorers (HumanEval in the sandbox, vault QA
citations), and a tiny end-to-end eval on the embedded model."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from overlayagi.evals import data
from overlayagi.evals.data import Item
from overlayagi.evals.extract import extract_number
from overlayagi.evals.harness import EvalSpec, Evaluation, adapt
from overlayagi.evals.results import ResultsFile
from overlayagi.evals.tasks import HumanEval, Scored, VaultQA
from overlayagi.memory.vault.service import Vault, VaultOptions
from overlayagi.workspace import Workspace
from tests.conftest import run_cli
from tests.fakes import FakeLLM
from tests.vault_fixture import build_vault


class Arithmetic:
    """A test task: "What is i + i?"; can crash while scoring, as a power cut would."""

    name = "arith"
    answer_kind = "number"

    def __init__(self, n: int, crash_after: int | None = None) -> None:
        self.n, self.crash_after, self.scored = n, crash_after, 0

    def items(self, path: Path | None) -> list[Item]:
        return [Item(f"q{i}", f"What is {i} + {i}?", str(2 * i)) for i in range(self.n)]

    def prompt(self, item: Item) -> str:
        return item.question

    async def score(self, item: Item, output: str) -> Scored:
        self.scored += 1
        if self.crash_after is not None and self.scored > self.crash_after:
            raise RuntimeError("power cut")
        predicted = extract_number(output)
        return Scored(predicted, predicted == item.gold, {"kind": "sum"})


def arithmetic_llm() -> FakeLLM:
    def reply(messages: list[Any], _kwargs: dict[str, Any]) -> str:
        a = int(messages[-1].content.split()[2])
        wrong = a == 3  # one item the "model" gets wrong
        return f"<thinking>{a} and {a}</thinking><output>The answer is {2 * a + wrong}</output>"

    return FakeLLM(reply)


def with_llm(ws: Workspace, llm: FakeLLM) -> Workspace:
    ws.llm_provider = lambda default=None: lambda _model, _adapter: llm  # type: ignore[method-assign]
    return ws


def test_a_crashed_eval_resumes_without_running_anything_twice(workspace: Workspace) -> None:
    spec = EvalSpec(task="arith", frames=("direct", "cot"), model="fake", limit=6)
    first = arithmetic_llm()
    crashed = Evaluation(with_llm(workspace, first), spec, Arithmetic(8, crash_after=5))
    with pytest.raises(RuntimeError, match="power cut"):
        asyncio.run(crashed.run())
    results = crashed.folder / "results.jsonl"
    assert len(results.read_text().splitlines()) == 5
    kept = [json.loads(line)["run_id"] for line in results.read_text().splitlines()]
    # What is stored can be reported without running anything (item by item, frame by frame).
    partial = Evaluation(with_llm(workspace, arithmetic_llm()), spec, Arithmetic(8)).stored()
    assert [(f.frame, f.items) for f in partial.frames] == [("direct@1.0.0", 3), ("cot@1.0.0", 2)]
    with results.open("a") as fh:
        fh.write('{"frame": "direct@1.0.0", "item": "q3", "pre')  # torn by the crash

    second = arithmetic_llm()
    progress: list[Any] = []
    report = asyncio.run(
        Evaluation(with_llm(workspace, second), spec, Arithmetic(8)).run(progress.append)
    )
    assert len(second.calls) == 12 - 5  # only what was missing (q0..q5 × two frames)
    rows = ResultsFile(crashed.folder).load()
    assert len(rows) == 12 and len({(r.frame, r.item) for r in rows}) == 12
    assert [r.run_id for r in rows[:5]] == kept
    by_frame = {f.frame: f for f in report.frames}
    assert set(by_frame) == {"direct@1.0.0", "cot@1.0.0"}
    for summary in by_frame.values():
        assert (summary.items, summary.correct, summary.llm_calls_per_item) == (6, 5, 1.0)
        assert 0.4 < summary.ci_low < summary.accuracy < summary.ci_high < 1.0
    # The second frame is compared with the first item by item: both miss the same item.
    assert by_frame["direct@1.0.0"].versus is None
    paired = by_frame["cot@1.0.0"].versus
    assert paired is not None
    assert (paired.frame, paired.items, paired.delta, paired.wins, paired.losses) == (
        "direct@1.0.0",
        6,
        0.0,
        0,
        0,
    )
    # Resumed figures are reported first, then one update per item run now.
    assert [p.resumed for p in progress[:2]] == [True, True]
    assert progress[-1].done == 6 and not progress[-1].resumed
    summary = json.loads((crashed.folder / "summary.json").read_text())
    assert summary["frames"][0]["items"] == 6
    assert summary["frames"][0]["groups"] == {"kind=sum": {"items": 6, "accuracy": 0.8333}}
    # Every result points at its run in the ledger.
    assert all(workspace.store().run(r.run_id) is not None for r in rows)


def test_vote_compares_the_tasks_answer_not_the_wording(workspace: Workspace) -> None:
    frames = adapt(workspace.frame_library().refresh(), "number")
    vote = frames["self_consistency"].frame.phase("vote")
    assert vote.extract is not None and vote.extract.builtin == "number"
    assert frames["direct"] is workspace.frame_library().refresh()["direct"]

    samples = iter(["It is 18 dollars.", "$18", "The answer is 18.", "17", "18.00"])
    llm = FakeLLM(lambda _m, _k: f"<thinking>…</thinking><output>{next(samples)}</output>")
    spec = EvalSpec(task="arith", frames=("self_consistency",), model="fake", limit=1)

    class Eighteen(Arithmetic):
        def items(self, path: Path | None) -> list[Item]:
            return [Item("q", "What is 9 + 9?", "18")]

    report = asyncio.run(Evaluation(with_llm(workspace, llm), spec, Eighteen(1)).run())
    assert report.frames[0].correct == 1


@pytest.fixture(scope="module")
def humaneval_rows() -> list[dict[str, Any]]:
    with gzip.open(data.package_file("humaneval"), "rt") as fh:
        return [json.loads(line) for line in fh][:2]


def test_humaneval_runs_candidates_in_the_sandbox(humaneval_rows: list[dict[str, Any]]) -> None:
    task = HumanEval(timeout_s=3)
    items = task.items(None)[:2]
    row = humaneval_rows[0]
    whole = f"Sure:\n```python\n{row['prompt']}{row['canonical_solution']}```"
    assert asyncio.run(task.score(items[0], whole)).correct
    body_only = row["canonical_solution"]  # a completion that continues the signature
    assert asyncio.run(task.score(items[0], body_only)).correct
    wrong = f"```python\ndef {row['entry_point']}(numbers, threshold):\n    return False\n```"
    assert not asyncio.run(task.score(items[0], wrong)).correct
    forever = f"```python\ndef {row['entry_point']}(numbers, threshold):\n    while True: pass\n```"
    scored = asyncio.run(task.score(items[0], forever))
    assert not scored.correct and "killed" in scored.detail["sandbox"]
    escape = "```python\nimport socket\nsocket.create_connection(('1.1.1.1', 53))\n```"
    assert not asyncio.run(task.score(items[1], escape)).correct


def test_vault_qa_scores_citations_and_says_not_found(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "vault.db", options=VaultOptions(dense=False))
    vault.ingest(build_vault(tmp_path / "vault"))
    task = VaultQA(vault)
    item = Item(
        "t1",
        "How often should I water tomatoes?",
        json.dumps(["Garden/Tomatoes.md"]),
        meta={"answer": "Water tomato plants deeply twice a week."},
    )
    good = "Water tomato plants deeply, twice a week [[Tomatoes#Watering]]."
    assert asyncio.run(task.score(item, good)) == Scored(
        "Garden/Tomatoes.md", True, {"cites_gold": True, "answer_overlap": 1.0}
    )
    item = Item(item.id, item.question, item.gold, meta={**item.meta, "lang": "en"})
    assert asyncio.run(task.score(item, good)).detail["lang"] == "en"  # for the groups
    uncited = asyncio.run(task.score(item, "Water them deeply twice a week."))
    assert not uncited.correct and uncited.detail["cites_gold"] is False
    wrong_note = asyncio.run(task.score(item, "Twice a week, deeply [[Compost]]."))
    assert not wrong_note.correct
    negative = Item("t2", "How do I fix my car?", "[]", meta={"answer": ""})
    assert asyncio.run(task.score(negative, "My vault does not contain the answer.")).correct
    assert asyncio.run(task.score(negative, "В хранилище нет заметки об этом.")).correct
    assert not asyncio.run(task.score(negative, "Change the oil [[Compost]].")).correct


@pytest.mark.model
def test_tiny_eval_on_the_embedded_model_then_resume(
    model_path: Path, cli_home: dict[str, str]
) -> None:
    env = {**cli_home, "OVERLAY_ENGINE__MAX_TOKENS": "8", "OVERLAY_ENGINE__CONTEXT_SIZE": "2048"}
    args = ("eval", "mmlu", "-f", "select", "-f", "direct", "--limit", "3", "--json")
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    table = json.loads(first.stdout)
    assert [f["frame"] for f in table["frames"]] == ["select@1.0.0", "direct@1.0.0"]
    assert all(f["items"] == 3 and f["errors"] == 0 for f in table["frames"])
    select = table["frames"][0]
    assert select["llm_calls_per_item"] == 1.0
    lines = Path(table["folder"], "results.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 6
    assert all(
        r["prediction"] in ("A", "B", "C", "D") for r in rows if r["frame"] == "select@1.0.0"
    )
    shown = run_cli("ledger", "show", rows[0]["run_id"], env=env)
    assert shown.returncode == 0 and "select" in shown.stdout

    again = run_cli(*args, env=env)  # everything is stored: nothing runs again
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["frames"] == table["frames"]
    assert len(Path(table["folder"], "results.jsonl").read_text().splitlines()) == 6

    # --report shows what is stored and runs nothing, not even for a frame not measured yet.
    report = run_cli(*args[:-1], "-f", "cot", "--report", "--json", env=env)
    assert report.returncode == 0, report.stderr
    frames = json.loads(report.stdout)["frames"]
    assert frames[:2] == table["frames"] and (frames[2]["frame"], frames[2]["items"]) == (
        "cot@1.0.0",
        0,
    )
    assert len(Path(table["folder"], "results.jsonl").read_text().splitlines()) == 6


def test_bad_eval_arguments_are_clear_errors(model_path: Path, cli_home: dict[str, str]) -> None:
    cases = [
        (("trivia",), "unknown task 'trivia'"),
        (("gsm8k", "-f", "nosuch"), "unknown frame 'nosuch'"),
        (("gsm8k", "--offset", "5000"), "--offset 5000 skips every item: gsm8k has 1319"),
        (("vault_qa",), "vault_qa needs a question file"),
    ]
    for args, message in cases:
        result = run_cli("eval", *args, env=cli_home)
        assert result.returncode == 2, (args, result.stderr)
        assert message in " ".join(result.stderr.split()), result.stderr
