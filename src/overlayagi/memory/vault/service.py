"""The vault as one object: its index, ingest, search, reading notes back, and write-back."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlayagi.engine.protocols import Embedder
from overlayagi.memory.vault.db import VaultDB, VaultError
from overlayagi.memory.vault.dense import DenseIndex
from overlayagi.memory.vault.ingest import (
    Ingester,
    IngestReport,
    IngestSettings,
    Progress,
    signal_name,
)
from overlayagi.memory.vault.search import (
    DenseSignal,
    Filters,
    Mode,
    Reranker,
    SearchResult,
    SearchSettings,
    VaultSearch,
)
from overlayagi.memory.vault.summaries import LLMSummariser
from overlayagi.memory.vault.text import RussianMode, TermNormaliser
from overlayagi.memory.vault.write import VaultWriter


@dataclass
class VaultOptions:
    chunk_tokens: int = 200
    max_file_bytes: int = 2_000_000
    dense: bool = True
    ann_threshold: int = 50_000
    russian: RussianMode = "lemma"
    output_folder: str = "Overlay"
    search: SearchSettings | None = None


@dataclass
class NoteText:
    path: str
    title: str
    heading: str | None
    text: str
    frontmatter: dict[str, Any]
    links: list[str]
    backlinks: list[str]


class Vault:
    def __init__(
        self,
        db_path: Path,
        *,
        options: VaultOptions | None = None,
        embedder_factory: Callable[[], Embedder] | None = None,
        extra_embedders: Sequence[Callable[[], Embedder]] = (),
        synchronous: str = "NORMAL",
    ) -> None:
        """``embedder_factory`` makes the main embedder (its cosine is the ``dense`` signal
        and feeds the not-found confidence); each of ``extra_embedders`` adds one more dense
        signal, fused like the others. None of them is built until it is needed."""
        self.options = options or VaultOptions()
        self.db = VaultDB(db_path, synchronous=synchronous)
        self.normaliser = TermNormaliser(self.options.russian)
        self._factories = (
            [embedder_factory, *extra_embedders]
            if self.options.dense and embedder_factory is not None
            else []
        )
        self._embedders: list[Embedder] | None = None
        self.reranker: Reranker | None = None
        self._search: VaultSearch | None = None

    # -- parts --------------------------------------------------------------------------------
    @property
    def embedders(self) -> list[Embedder]:
        """The main embedder first, then the extra ones (empty without dense search)."""
        if self._embedders is None:
            self._embedders = [make() for make in self._factories]
        return self._embedders

    @property
    def root(self) -> Path | None:
        return self.db.root

    def require_root(self) -> Path:
        root = self.db.root
        if root is None:
            raise VaultError(
                "no vault configured: this workspace has not indexed a vault yet",
                fix="run `overlay ingest PATH` with the folder of your Obsidian vault",
            )
        return root

    def dense_index(self, embedder: Embedder, name: str) -> DenseIndex:
        path = self.db.path
        return DenseIndex(
            self.db,
            embedder.model_id,
            ann_threshold=self.options.ann_threshold,
            ann_path=path.with_name(f"{path.stem}.{name}.usearch"),
        )

    def searcher(self) -> VaultSearch:
        """Dense signals only for embedders whose vectors the index holds: after the main
        embedder changes, search is lexical + graph (+ the others) until the next ingest."""
        if self._search is None:
            signals = []
            for number, embedder in enumerate(self.embedders):
                name = "dense" if number == 0 else signal_name(embedder)
                index = self.dense_index(embedder, name)
                if index.size:
                    signals.append(DenseSignal(name, embedder, index))
            self._search = VaultSearch(
                self.db,
                self.normaliser,
                dense=signals,
                settings=self.options.search or SearchSettings(),
                reranker=self.reranker,
            )
        return self._search

    # -- operations ---------------------------------------------------------------------------
    def ingest(
        self,
        root: Path,
        *,
        progress: Progress | None = None,
        reset: bool = False,
        summariser: LLMSummariser | None = None,
        summariser_id: str = "",
    ) -> IngestReport:
        ingester = Ingester(
            self.db,
            self.normaliser,
            settings=IngestSettings(
                chunk_tokens=self.options.chunk_tokens,
                max_file_bytes=self.options.max_file_bytes,
            ),
            embedders=self.embedders,
            summariser=summariser,
            summariser_id=summariser_id,
        )
        report = ingester.ingest(root, progress=progress or _quiet, reset=reset)
        self._search = None
        return report

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        rerank: bool = False,
    ) -> SearchResult:
        self.require_root()
        return self.searcher().search(query, k=k, mode=mode, filters=filters, rerank=rerank)

    def resolve(self, name: str) -> str | None:
        """A note path from a path, a file name or a title (case-insensitive)."""
        key = name.strip().removeprefix("[[").removesuffix("]]").split("|")[0].split("#")[0]
        key = key.strip().casefold()
        with self.db.reading() as db:
            rows = db.execute("SELECT path, title FROM notes").fetchall()
        for path, title in sorted(rows, key=lambda r: (r[0].count("/"), len(r[0]))):
            stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            if key in (path.casefold(), path.casefold().removesuffix(".md"), stem.casefold()):
                return str(path)
            if key == str(title).casefold():
                return str(path)
        return None

    def read(self, name: str, heading: str | None = None) -> NoteText:
        """A note (or one section with its sub-sections) as indexed, with its links."""
        self.require_root()
        path = self.resolve(name)
        if path is None:
            raise VaultError(
                f"no note named {name!r} in the vault index",
                fix="use a path or title from `overlay search`, e.g. 'Folder/Note.md'",
            )
        if heading is None and "#" in name:
            heading = name.split("#", 1)[1].removesuffix("]]").strip() or None
        with self.db.reading() as db:
            note = db.execute(
                "SELECT id, title, frontmatter FROM notes WHERE path = ?", (path,)
            ).fetchone()
            sections = db.execute(
                "SELECT heading, level, path, text FROM sections WHERE note_id = ? ORDER BY ord",
                (note[0],),
            ).fetchall()
            links = [
                r[0]
                for r in db.execute(
                    "SELECT DISTINCT resolved FROM links "
                    "WHERE note_id = ? AND resolved IS NOT NULL",
                    (note[0],),
                )
            ]
            backlinks = [
                r[0]
                for r in db.execute(
                    "SELECT DISTINCT n.path FROM links l JOIN notes n ON n.id = l.note_id "
                    "WHERE l.resolved = ? AND n.path != ?",
                    (path, path),
                )
            ]
        chosen = sections
        if heading:
            key = heading.casefold().strip()
            start = next((i for i, s in enumerate(sections) if s[0].casefold() == key), None)
            if start is None:
                raise VaultError(
                    f"{path} has no heading {heading!r}",
                    fix="headings: " + ", ".join(s[0] for s in sections if s[0]),
                )
            level = sections[start][1]
            end = next(
                (j for j in range(start + 1, len(sections)) if sections[j][1] <= level),
                len(sections),
            )
            chosen = sections[start:end]
        parts = []
        for h, level, _, text in chosen:
            if h:
                parts.append("#" * max(level, 1) + " " + h)
            if text:
                parts.append(text)
        return NoteText(
            path=path,
            title=note[1],
            heading=heading,
            text="\n\n".join(parts),
            frontmatter=json.loads(note[2]),
            links=links,
            backlinks=backlinks,
        )

    def writer(self) -> VaultWriter:
        return VaultWriter(self.require_root(), self.options.output_folder)

    def close(self) -> None:
        self.db.close()


def _quiet(stage: str, done: int, total: int) -> None:
    return None
