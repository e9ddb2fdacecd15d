"""vault.write: new notes only, only inside the output folder, with front matter and links;
the vault tools through the tool registry, and the allowlist through a real run."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
import yaml

from overlayagi.memory.vault.service import Vault, VaultOptions
from overlayagi.memory.vault.write import VaultWriter, WriteRefused
from overlayagi.mind.tools.registry import CURRENT_TOOL_CONTEXT, ToolContext, default_registry
from tests.vault_fixture import build_vault


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    v = Vault(tmp_path / "vault.db", options=VaultOptions(dense=False, max_file_bytes=100_000))
    v.ingest(build_vault(tmp_path / "vault"))
    return v


def test_writes_a_new_note_with_front_matter_and_links(vault: Vault) -> None:
    path = vault.writer().write(
        "Гарден синтез",
        "Помидоры любят солнце.",
        sources=["Garden/Tomatoes.md"],
        citations=["[[Tomatoes#Watering]]"],
        session="daily",
        frame="vault_qa@1.0.0",
    )
    root = vault.require_root()
    assert path == root / "Overlay" / "Гарден синтез.md"
    text = path.read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["session"] == "daily" and meta["frame"] == "vault_qa@1.0.0"
    assert meta["sources"] == ["Garden/Tomatoes.md"] and meta["created"]
    assert "- [[Tomatoes#Watering]]" in text and "Помидоры любят солнце." in text
    # The new note is indexed like any other on the next ingest, links resolved.
    vault.ingest(root)
    assert vault.read("Гарден синтез").links == ["Garden/Tomatoes.md"]


def test_never_overwrites(vault: Vault) -> None:
    writer = vault.writer()
    first = writer.write("Note", "one")
    with pytest.raises(WriteRefused, match="already exists"):
        writer.write("Note", "two")
    assert "one" in first.read_text()


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../Garden/Tomatoes", "'..'"),
        ("sub/../../escape", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/notes", "absolute"),
        ("C:/Windows/x", "absolute"),
        ("bad|name", "not a valid note name"),
        ("", "needs a title"),
    ],
)
def test_refuses_paths_outside_the_folder(vault: Vault, name: str, why: str) -> None:
    with pytest.raises(WriteRefused, match=why):
        vault.writer().write(name, "x")


def test_refuses_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "v"
    outside = tmp_path / "outside"
    (root / "Overlay").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, root / "Overlay" / "link")
    writer = VaultWriter(root, "Overlay")
    with pytest.raises(WriteRefused, match="outside"):
        writer.write("link/escape", "x")
    os.symlink(outside / "target.md", root / "Overlay" / "dangling.md")
    with pytest.raises(WriteRefused):
        writer.write("dangling", "x")
    assert not (outside / "target.md").exists() and list(outside.iterdir()) == []
    # A symlinked output folder is refused outright.
    root2 = tmp_path / "v2"
    root2.mkdir()
    os.symlink(outside, root2 / "Overlay")
    with pytest.raises(WriteRefused, match="symlink"):
        VaultWriter(root2, "Overlay").write("x", "y")


def test_vault_tools(vault: Vault) -> None:
    registry = default_registry(vault=lambda: vault)
    assert {"vault.search", "vault.read", "vault.write"} <= set(registry)

    async def call(name: str, args: dict[str, object]) -> str:
        assert registry.check_arguments(name, args) is None
        result = await registry[name].run(args)
        assert not result.error, result.output
        return result.output

    found = asyncio.run(call("vault.search", {"query": "water tomatoes", "k": 2}))
    assert "[[Tomatoes#Watering]]" in found
    read = asyncio.run(call("vault.read", {"note": "Compost"}))
    assert "humus" in read
    token = CURRENT_TOOL_CONTEXT.set(ToolContext("run-1", "writer", "1.2.0", "s1"))
    try:
        written = json.loads(
            asyncio.run(
                call(
                    "vault.write",
                    {"title": "Summary", "body": "Text.", "sources": ["Tomatoes"]},
                )
            )
        )
    finally:
        CURRENT_TOOL_CONTEXT.reset(token)
    assert written == {"written": "Overlay/Summary.md", "sources": ["Garden/Tomatoes.md"]}
    text = (vault.require_root() / "Overlay/Summary.md").read_text()
    assert "frame: writer@1.2.0" in text and "session: s1" in text
    again = asyncio.run(registry["vault.write"].run({"title": "Summary", "body": "Other."}))
    assert again.error and "already exists" in again.output


async def test_write_runs_only_in_frames_that_list_it(vault: Vault, tmp_path: Path) -> None:
    """A frame that offers only vault.search cannot write, whatever the model asks for; a
    frame that lists vault.write can, and the note records the frame and its version."""
    from overlayagi.frames.library import FrameLibrary
    from overlayagi.mind.events import MemorySink, ToolCall
    from overlayagi.mind.runner import Runner
    from tests.fakes import FakeLLM

    frames = tmp_path / "frames"
    frames.mkdir()
    for fid, tools in (("reader", "[vault.search]"), ("writer", "[vault.search, vault.write]")):
        (frames / f"{fid}.yaml").write_text(
            f"id: {fid}\nversion: 1.2.0\ntools: {tools}\nphases:\n"
            f"  - id: act\n    kind: tool_loop\n    tools: {tools}\n    max_iterations: 2\n"
        )
    registry = default_registry(vault=lambda: vault)
    library = FrameLibrary(frames, known_tools=registry, include_builtin=False)
    write = {
        "thought": "save it",
        "tool": "vault.write",
        "args": {"title": "Synthesis", "body": "Tomatoes like sun.", "sources": ["Tomatoes"]},
    }
    done = {"thought": "done", "tool": "final_answer", "answer": "ok"}
    out_file = vault.require_root() / "Overlay" / "Synthesis.md"

    sink = MemorySink()
    llm = FakeLLM([write, done])
    runner = Runner(library.refresh, lambda _m, _a: llm, tools=registry)
    result = await runner.run("reader", "write a note", sink=sink)
    assert result.status == "ok"
    [call] = sink.of_type(ToolCall)
    assert call.refused and "not allowed" in call.result
    assert not out_file.exists()

    sink = MemorySink()
    llm = FakeLLM([write, done])
    runner = Runner(library.refresh, lambda _m, _a: llm, tools=registry)
    await runner.run("writer", "write a note", sink=sink)
    [call] = sink.of_type(ToolCall)
    assert not call.refused and not call.error, call.result
    assert "frame: writer@1.2.0" in out_file.read_text()
