"""Insights on the real model and embedder; replaying a run; the memory and ledger CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overlayagi.engine.llamacpp import LlamaCppLLM
from overlayagi.frames.library import FrameLibrary
from overlayagi.memory.insights import KINDS, InsightMemory
from overlayagi.memory.records import Insight
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.mind.events import MemorySink
from overlayagi.mind.replay import replay_calls
from overlayagi.mind.runner import Runner
from overlayagi.mind.tools import default_registry
from overlayagi.workspace import Workspace
from tests.conftest import run_cli


@pytest.fixture
def insights(tmp_path: Path, workspace: Workspace) -> InsightMemory:
    return InsightMemory(SQLiteStore(tmp_path / "overlay.db"), workspace.build_embedder())


@pytest.mark.model
async def test_extraction_on_the_model_gives_valid_records(
    llm: LlamaCppLLM, insights: InsightMemory
) -> None:
    session = insights.store.ensure_session("s")
    stored = insights.store.add_messages(
        session.id,
        [
            ("user", "Hi! My name is Marta and I live in Porto.", 12),
            ("assistant", "Nice to meet you, Marta.", 8),
            ("user", "I prefer answers in short bullet points.", 10),
        ],
    )
    found = await insights.extract(llm, stored)
    assert found, "the model found nothing to remember"
    ids = {m.id for m in stored}
    for item in found:
        assert item.key and item.key == item.key.lower() and " " not in item.key
        assert item.kind in KINDS and 0.0 <= item.confidence <= 1.0
        assert item.text and set(item.sources) <= ids
    text = " ".join(i.text for i in found)
    assert "Marta" in text or "Porto" in text or "bullet" in text


def test_duplicates_merge_by_key_and_by_meaning(insights: InsightMemory) -> None:
    first = insights.merge(
        [
            Insight(
                key="home_city",
                kind="fact",
                text="The user lives in Porto.",
                confidence=0.7,
                sources=[1],
            )
        ]
    )
    assert first[0].action == "added"
    same_key = insights.merge(
        [
            Insight(
                key="home_city",
                kind="fact",
                text="The user lives in Porto, Portugal.",
                confidence=0.9,
                sources=[5],
            )
        ]
    )
    assert same_key[0].action == "updated"
    same_meaning = insights.merge(
        [
            Insight(
                key="city_of_residence",
                kind="fact",
                text="The user lives in Porto, Portugal.",
                confidence=0.8,
                sources=[9],
            )
        ]
    )
    assert same_meaning[0].action == "merged into home_city"
    different = insights.merge(
        [
            Insight(
                key="pet",
                kind="fact",
                text="The user has a cat named Pistachio.",
                confidence=0.8,
                sources=[11],
            )
        ]
    )
    assert different[0].action == "added"
    stored = {i.key: i for i in insights.store.list_insights()}
    assert set(stored) == {"home_city", "pet"}
    assert stored["home_city"].sources == [1, 5, 9] and stored["home_city"].confidence == 0.9
    relevant = insights.relevant("Where does the user live?", k=1)
    assert [i.key for i in relevant] == ["home_city"]


@pytest.mark.model
async def test_replay_reproduces_a_seeded_run(llm: LlamaCppLLM) -> None:
    library = FrameLibrary(None, known_tools=default_registry())
    runner = Runner(library.refresh, lambda _m, _a: llm, max_tokens=24, temperature=0.8, seed=11)
    sink = MemorySink()
    await runner.run("consilium", "Name a prime number below 10.", sink=sink)
    report = await replay_calls(llm, sink.events)
    assert len(report) >= 4
    assert all(r.same for r in report), [r.detail for r in report if not r.same]


@pytest.mark.model
def test_ledger_and_memory_commands(cli_home: dict[str, str], tmp_path: Path) -> None:
    ran = run_cli("run", "direct", "Say hello.", "--seed", "3", env=cli_home)
    assert ran.returncode == 0, ran.stderr
    listed = run_cli("ledger", "list", env=cli_home)
    assert "direct@1.0.0" in listed.stdout and " ok " in listed.stdout
    run_id = listed.stdout.split("\n")[1].split()[0]
    assert run_cli("ledger", "verify", env=cli_home).returncode == 0
    tree = run_cli("ledger", "tree", run_id[:8], env=cli_home)
    assert "answer (generate #1)" in tree.stdout
    replay = run_cli("ledger", "replay", run_id, env=cli_home)
    assert replay.returncode == 0 and "0 diverged" in replay.stdout
    exported = run_cli("ledger", "export", "--jsonl", env=cli_home)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert records[0]["type"] == "run_started" and records[-1]["type"] == "run_finished"

    home = Path(cli_home["OVERLAY_HOME"])
    ws = Workspace.open(home)
    ws.insights().merge(
        [Insight(key="user_name", kind="fact", text="The user is Marta.", confidence=0.9)]
    )
    assert "user_name" in run_cli("memory", "insights", env=cli_home).stdout
    assert run_cli("memory", "pin", "user_name", env=cli_home).returncode == 0
    exported_map = tmp_path / "map.json"
    assert run_cli("memory", "export", str(exported_map), env=cli_home).returncode == 0
    other = {"OVERLAY_HOME": str(tmp_path / "other")}
    imported = run_cli("memory", "import", str(exported_map), env=other)
    assert imported.returncode == 0, imported.stderr
    assert "Marta" in run_cli("memory", "insights", env=other).stdout
    snap = run_cli("memory", "snapshot", env=cli_home)
    assert snap.returncode == 0 and "snapshot" in snap.stdout
    assert (home / "memory-snapshots" / "insights.md").read_text().count("Marta") == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "overlay-context-map", "version": 1, "insights": "x"}')
    failed = run_cli("memory", "import", str(bad), env=other)
    assert failed.returncode == 2 and "is not a valid context map" in failed.stderr
