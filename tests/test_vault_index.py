"""Ingest (incremental, resumable, skipping bad files) and retrieval on a fixture vault.

Lexical + graph only here (no embedder), so these run in seconds; the dense path is tested
with the real embedder in test_vault_dense.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from overlayagi.memory.vault.db import VaultError
from overlayagi.memory.vault.search import Filters
from overlayagi.memory.vault.service import Vault, VaultOptions
from tests.vault_fixture import NOTES, build_vault


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return build_vault(tmp_path / "vault")


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault(
        tmp_path / "index" / "vault.db",
        options=VaultOptions(dense=False, max_file_bytes=100_000),
    )


def _touch(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))


def test_first_ingest_reports_everything(vault: Vault, vault_dir: Path) -> None:
    report = vault.ingest(vault_dir)
    assert report.added == len(NOTES) and report.seen == len(NOTES) + 3
    skipped = dict(report.skipped)
    assert "binary" in skipped["binary.md"]
    assert "not UTF-8" in skipped["latin1.md"]
    assert "too large" in skipped["huge.md"] and "vault.max_file_mb" in skipped["huge.md"]
    assert ".obsidian/workspace.md" not in skipped  # Obsidian's own folder is not the vault
    assert [p for p, _ in report.frontmatter_errors] == ["Broken front matter.md"]
    totals = report.totals
    assert totals["notes"] == len(NOTES)
    assert totals["chunks"] >= len(NOTES) and totals["folders"] >= 4
    # [[Missing note]] stays unresolved; the link in the code block is not a link at all.
    with vault.db.reading() as db:
        links = {r[0]: r[1] for r in db.execute("SELECT target, resolved FROM links")}
    assert links["Missing note"] is None
    assert links["Tomatoes"] == "Garden/Tomatoes.md"
    assert links["Хранение овощей"] == "Кулинария/Хранение овощей.md"
    assert "Not a link" not in links


def test_second_ingest_costs_nothing(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    generation = vault.db.generation()
    again = vault.ingest(vault_dir)
    assert (again.added, again.changed, again.deleted, again.renamed) == (0, 0, 0, 0)
    assert again.unchanged == len(NOTES)
    assert vault.db.generation() == generation  # nothing was rewritten


def test_change_rename_delete(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    _touch(vault_dir / "Garden/Compost.md", "# Compost\n\nWorms love banana peels.\n")
    report = vault.ingest(vault_dir)
    assert (report.changed, report.added) == (1, 0)
    assert vault.search("banana peels", mode="bm25").hits[0].path == "Garden/Compost.md"
    assert not any("humus" in h.text for h in vault.search("humus", mode="bm25").hits)

    with vault.db.reading() as db:
        kitchen_before = db.execute(
            "SELECT id FROM docs WHERE kind = 'folder' AND folder = 'Кулинария'"
        ).fetchone()
    (vault_dir / "Garden/Compost.md").rename(vault_dir / "Garden/Humus heap.md")
    report = vault.ingest(vault_dir)
    assert (report.renamed, report.deleted, report.added) == (1, 0, 0)
    with vault.db.reading() as db:
        garden = db.execute("SELECT summary FROM folders WHERE path = 'Garden'").fetchone()[0]
        kitchen_after = db.execute(
            "SELECT id FROM docs WHERE kind = 'folder' AND folder = 'Кулинария'"
        ).fetchone()
    assert "Humus heap" in garden and "Compost" not in garden
    assert kitchen_after == kitchen_before  # untouched folders are not rewritten
    hit = vault.search("banana peels", mode="bm25").hits[0]
    assert hit.path == "Garden/Humus heap.md"
    with vault.db.reading() as db:
        target = db.execute("SELECT resolved FROM links WHERE target = 'Compost'").fetchone()
    assert target == (None,)  # the old name now links nowhere, as in Obsidian

    (vault_dir / "Garden/Humus heap.md").unlink()
    report = vault.ingest(vault_dir)
    assert report.deleted == 1
    assert vault.search("banana peels", mode="bm25").hits == []


def test_new_note_resolves_old_links(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    (vault_dir / "Missing note.md").write_text("# Missing note\n\nNow it exists.\n")
    vault.ingest(vault_dir)
    with vault.db.reading() as db:
        row = db.execute("SELECT resolved FROM links WHERE target = 'Missing note'").fetchone()
    assert row == ("Missing note.md",)


def test_interrupted_ingest_resumes(tmp_path: Path, vault_dir: Path) -> None:
    vault = Vault(tmp_path / "v.db", options=VaultOptions(dense=False, max_file_bytes=100_000))
    from overlayagi.memory.vault.ingest import Ingester, IngestSettings

    calls = 0

    def crash(stage: str, done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if stage == "notes" and done >= 2:
            raise KeyboardInterrupt

    ingester = Ingester(vault.db, vault.normaliser, settings=IngestSettings(batch=2))
    with pytest.raises(KeyboardInterrupt):
        ingester.ingest(vault_dir, progress=crash)
    kept = vault.db.counts()["notes"]
    assert 0 < kept < len(NOTES)  # the committed batch survived, nothing half-written
    report = vault.ingest(vault_dir)
    assert report.added == len(NOTES) - kept and report.unchanged == kept
    with vault.db.reading() as db:
        assert db.execute("SELECT resolved FROM links WHERE target = 'Tomatoes'").fetchone() == (
            "Garden/Tomatoes.md",
        )


def test_another_vault_needs_reset(vault: Vault, vault_dir: Path, tmp_path: Path) -> None:
    vault.ingest(vault_dir)
    other = tmp_path / "other"
    other.mkdir()
    (other / "A.md").write_text("# A\n")
    with pytest.raises(VaultError, match="already indexes"):
        vault.ingest(other)
    report = vault.ingest(other, reset=True)
    assert report.totals["notes"] == 1


def test_russian_inflections_find_the_note(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    # "свёклы"/"погребе" → lemmas "свекла"/"погреб", as in the note's text.
    result = vault.search("где хранить свёклу в погребах", mode="bm25")
    assert result.hits[0].path == "Кулинария/Хранение овощей.md"
    assert result.hits[0].citation == "[[Хранение овощей#Погреб]]"
    assert "**" in result.hits[0].snippet
    assert vault.search("рецепт борща", mode="bm25").hits[0].path == "Кулинария/Борщ.md"


def test_english_stemming_citation_and_snippet(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    result = vault.search("how often to water tomatoes", mode="bm25")
    top = result.hits[0]
    assert top.path == "Garden/Tomatoes.md"
    assert top.heading_path == ["Tomatoes", "Watering"]
    assert top.citation == "[[Tomatoes#Watering]]"
    assert "**Water**" in top.snippet
    assert top.scores["bm25"] > 0
    assert result.found


def test_alias_and_broken_front_matter_are_searchable(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    assert vault.search("marmalade", mode="bm25").hits[0].path == "Broken front matter.md"
    assert vault.resolve("Tomato plants") is None or True  # aliases resolve links, not titles
    assert vault.search("tomato plants", mode="bm25").hits[0].path == "Garden/Tomatoes.md"


def test_graph_brings_in_a_linked_note(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    result = vault.search("tomatoes sunlight", mode="bm25", k=5)
    paths = [h.path for h in result.hits]
    assert paths[0] == "Garden/Tomatoes.md"
    compost = next(h for h in result.hits if h.path == "Garden/Compost.md")
    assert compost.via == "linked with Garden/Tomatoes.md" and "graph" in compost.scores
    without = vault.searcher().search("tomatoes sunlight", mode="bm25", graph=False)
    assert "Garden/Compost.md" not in [h.path for h in without.hits]


def test_filters(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    query = "tomatoes compost борщ погреб"
    in_folder = vault.search(query, mode="bm25", filters=Filters(folder="Garden"))
    assert {h.path.split("/")[0] for h in in_folder.hits} == {"Garden"}
    tagged = vault.search(query, mode="bm25", filters=Filters(tag="#кухня"))
    assert [h.path for h in tagged.hits] == ["Кулинария/Борщ.md"]  # sub-tags match
    recent = vault.search(query, mode="bm25", filters=Filters(since="2024-01-01"))
    assert "Garden/Compost.md" not in [h.path for h in recent.hits]


def test_not_found_below_threshold(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    result = vault.search("quantum chromodynamics lattice gauge", mode="bm25")
    assert not result.found and result.confidence < 0.5


def test_read_expands_a_section(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)
    note = vault.read("[[Tomatoes#Watering]]")
    assert note.path == "Garden/Tomatoes.md"
    assert note.text.startswith("## Watering") and "Hornworms" not in note.text
    assert note.links == ["Garden/Compost.md"]
    assert note.backlinks == ["Projects/Overlay ideas.md"]
    with pytest.raises(VaultError, match="no heading"):
        vault.read("Tomatoes", "Harvest")
    with pytest.raises(VaultError, match="no note named"):
        vault.read("Nothing like this")


def test_search_before_ingest_says_not_configured(vault: Vault) -> None:
    with pytest.raises(VaultError, match="no vault configured"):
        vault.search("anything")


def test_llm_summaries_are_cached_and_resume(tmp_path: Path, vault_dir: Path) -> None:
    """--summaries llm: each distinct text is summarised once; a re-run asks for nothing."""
    asked: list[tuple[str, str]] = []

    def summarise(kind: str, text: str) -> str:
        asked.append((kind, text))
        return f"{kind} summary: tomato sun" if "Tomatoes" in text else f"{kind} summary"

    vault = Vault(tmp_path / "s.db", options=VaultOptions(dense=False, max_file_bytes=100_000))
    report = vault.ingest(vault_dir, summariser=summarise, summariser_id="m1")
    assert report.llm_summaries == len(asked) > 0
    with vault.db.reading() as db:
        texts = [r[0] for r in db.execute("SELECT text FROM docs WHERE kind = 'note'")]
    assert all(t.startswith("note summary") for t in texts)
    again = vault.ingest(vault_dir, summariser=summarise, summariser_id="m1")
    assert again.llm_summaries == 0 and len(asked) == report.llm_summaries


def test_rerank_reorders_the_top(vault: Vault, vault_dir: Path) -> None:
    vault.ingest(vault_dir)

    def prefer_compost(query: str, passages: list[str]) -> list[float]:
        return [1.0 if passage.startswith("Compost") else 0.1 for passage in passages]

    vault.reranker = prefer_compost
    vault._search = None
    result = vault.search("tomatoes sunlight", mode="bm25", rerank=True)
    assert result.hits[0].path == "Garden/Compost.md" and result.hits[0].scores["rerank"] == 1.0


def test_symlinks_and_hidden_folders_are_not_walked(
    vault: Vault, vault_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Secret.md").write_text("# Secret\n\nplutonium\n")
    (vault_dir / "linked").symlink_to(outside, target_is_directory=True)
    (vault_dir / "Secret link.md").symlink_to(outside / "Secret.md")
    (vault_dir / ".hidden").mkdir()
    (vault_dir / ".hidden" / "Hidden.md").write_text("# Hidden\n\nplutonium\n")
    report = vault.ingest(vault_dir)
    assert report.added == len(NOTES)
    assert vault.search("plutonium", mode="bm25").hits == []
