"""Sessions: persistence, prompt assembly by token count, collapse → rebuild; caches."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from overlayagi.memory.caches import AnswerCache, CachedEmbedder
from overlayagi.memory.records import Insight
from overlayagi.memory.sessions import SessionMemory
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.workspace import Workspace
from tests.conftest import run_cli


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "overlay.db")


def memory(store: SQLiteStore, name: str = "s", context: int = 200) -> SessionMemory:
    info = store.ensure_session(name)
    return SessionMemory(
        store, info, count_tokens=words, context_size=context, reply_tokens=50, persona="Be kind."
    )


def test_prompt_fits_the_context_and_keeps_the_newest_turns(store: SQLiteStore) -> None:
    mem = memory(store)
    for i in range(40):
        mem.add("user" if i % 2 == 0 else "assistant", f"turn {i} " + "word " * 10)
    insight = Insight(key="user_name", kind="fact", text="The user is called Zorro.", confidence=1)
    ctx = mem.build([insight])
    assert ctx.messages[0].role == "system"
    assert "Be kind." in ctx.messages[0].content and "Zorro" in ctx.messages[0].content
    assert ctx.tokens <= 200 - 50
    assert ctx.messages[-1].content.startswith("turn 39")
    assert ctx.left_out > 0 and ctx.verbatim + ctx.left_out == 40
    # the kept turns are the newest, in order
    kept = [int(m.content.split()[1]) for m in ctx.messages[1:]]
    assert kept == sorted(kept) and kept[-1] == 39


async def test_collapse_summarises_old_turns_and_keeps_them(store: SQLiteStore) -> None:
    mem = memory(store)
    for i in range(20):
        mem.add("user", f"fact {i}: the code word is lemon{i} " + "pad " * 5)
    assert mem.needs_collapse()
    seen: list[str] = []

    async def summarize(text: str) -> str:
        seen.append(text)
        return "The user listed code words lemon0 to lemonN."

    summary = await mem.collapse(summarize)
    assert summary is not None
    assert summary.first_message_id == 1 and summary.last_message_id < 20
    assert "lemon0" in seen[0]
    ctx = mem.build()
    assert "Summary of the conversation so far" in ctx.messages[0].content
    assert all(
        int(m.content.split(":")[0].split()[1]) > summary.last_message_id - 1
        for m in ctx.messages[1:]
    )
    # nothing was deleted: the collapsed turns are still stored and searchable
    assert len(store.messages(mem.session.id)) == 20
    assert [m.id for m in mem.search("lemon0 ")] == [1]
    # a second collapse folds the previous summary in and covers the range from the start
    for i in range(20, 40):
        mem.add("user", f"fact {i}: the code word is lemon{i} " + "pad " * 5)
    second = await mem.collapse(summarize)
    assert second is not None and second.first_message_id == 1
    assert "Summary so far:" in seen[1]


def test_sessions_survive_reopening(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "overlay.db")
    mem = memory(first, "trip")
    mem.add("user", "We fly to Lisbon on May 3.")
    first.close()
    second = SQLiteStore(tmp_path / "overlay.db")
    info = second.get_session("trip")
    assert info is not None and info.messages == 1
    assert second.messages(info.id)[0].content == "We fly to Lisbon on May 3."


@pytest.mark.model
def test_a_second_process_recalls_what_the_first_was_told(cli_home: dict[str, str]) -> None:
    told = run_cli(
        "chat",
        "--session",
        "trip",
        "--max-tokens",
        "40",
        "--temperature",
        "0",
        input="Remember this: my cat is called Pistachio.\n",
        env=cli_home,
    )
    assert told.returncode == 0, told.stderr
    asked = run_cli(
        "chat",
        "--session",
        "trip",
        "--max-tokens",
        "30",
        "--temperature",
        "0",
        input="What is my cat called?\n",
        env=cli_home,
    )
    assert asked.returncode == 0, asked.stderr
    assert "Pistachio" in asked.stdout
    listed = run_cli("sessions", "list", env=cli_home)
    assert "trip" in listed.stdout


class CountingEmbedder:
    model_id = "counting"
    dim = 4

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str], *, query: bool = False) -> np.ndarray:  # type: ignore[type-arg]
        self.calls += len(texts)
        rows = []
        for t in texts:
            v = np.array([len(t), t.count("a"), t.count("e"), 1.0 if query else 2.0], np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def test_embedding_cache_persists(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, SQLiteStore(tmp_path / "overlay.db"))
    a = cached.embed(["alpha", "beta"])
    b = CachedEmbedder(inner, SQLiteStore(tmp_path / "overlay.db")).embed(["beta", "alpha"])
    assert inner.calls == 2
    assert np.allclose(a[::-1], b)
    cached.embed(["alpha"], query=True)  # queries and passages are cached apart
    assert inner.calls == 3


def test_answer_cache_hits_and_invalidation(tmp_path: Path, workspace: Workspace) -> None:
    store = SQLiteStore(tmp_path / "overlay.db")
    embedder = workspace.build_embedder()
    notes = {"Travel.md": "h1"}
    cache = AnswerCache(store, embedder, threshold=0.95, note_hash=notes.get)
    cache.put("cot@1.0.0", "m", "What is the capital of France?", "Paris")
    exact = cache.get("cot@1.0.0", "m", "what is the capital of france")
    assert exact is not None and exact[1] == 1.0
    close = cache.get("cot@1.0.0", "m", "What's the capital of France?")
    assert close is not None and close[0].answer == "Paris"
    assert cache.get("cot@1.0.0", "m", "What is the capital of Germany?") is None
    # another frame version or model: no hit
    assert cache.get("cot@1.1.0", "m", "What is the capital of France?") is None
    assert cache.get("cot@1.0.0", "other", "What is the capital of France?") is None
    # an answer citing a note is dropped when the note changes
    cache.put("cot@1.0.0", "m", "Where do I travel?", "Lisbon", cited={"Travel.md": "h1"})
    assert cache.get("cot@1.0.0", "m", "Where do I travel?") is not None
    notes["Travel.md"] = "h2"
    assert cache.get("cot@1.0.0", "m", "Where do I travel?") is None
    # and every answer expires
    short = AnswerCache(store, embedder, ttl_s=0.01)
    short.put("x@1.0.0", "m", "q", "a")
    time.sleep(0.05)
    assert short.get("x@1.0.0", "m", "q") is None
    stats = cache.stats()
    assert stats["answer_hits"] >= 3 and stats["answer_misses"] >= 4


def test_session_memory_and_cache_commands(cli_home: dict[str, str], tmp_path: Path) -> None:
    assert run_cli("init", env=cli_home).returncode == 0
    ws = Workspace.open(Path(cli_home["OVERLAY_HOME"]))
    info = ws.store().ensure_session("notes")
    ws.store().add_messages(info.id, [("user", "Привет, я Марта", 5), ("assistant", "Hi", 2)])
    ws.store().upsert_insight(Insight(key="name", kind="fact", text="Марта", confidence=0.5))
    ws.store().put_embeddings("e", [("h", b"\x00" * 8)])
    out = tmp_path / "notes.jsonl"
    exported = run_cli(
        "sessions", "export", "notes", "--format", "jsonl", "-o", str(out), env=cli_home
    )
    assert exported.returncode == 0, exported.stderr
    first = json.loads(out.read_text().splitlines()[0])
    assert first["content"] == "Привет, я Марта"
    assert "Привет" in run_cli("sessions", "export", "notes", env=cli_home).stdout
    missing = run_cli("sessions", "show", "nope", env=cli_home)
    assert missing.returncode == 2 and "no session named 'nope'" in missing.stderr
    assert run_cli("memory", "edit", "name", "The user is Marta.", env=cli_home).returncode == 0
    assert "The user is Marta." in run_cli("memory", "insights", env=cli_home).stdout
    assert run_cli("memory", "forget", "name", env=cli_home).returncode == 0
    assert "Marta" not in run_cli("memory", "insights", env=cli_home).stdout
    cleared = run_cli("cache", "clear", "embeddings", env=cli_home)
    assert "cleared 2 embeddings" in cleared.stdout  # the seeded one, and `edit`'s re-embedding
    assert run_cli("sessions", "delete", "notes", env=cli_home).returncode == 0
    assert "notes" not in run_cli("sessions", "list", env=cli_home).stdout
