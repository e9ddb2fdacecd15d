"""The vault index database: opening it, writing one note's subtree, reading it back."""

from __future__ import annotations

import json
import posixpath
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlayagi.errors import OverlayError
from overlayagi.memory.sqlite_base import SQLiteBase
from overlayagi.memory.vault.files import text_hash
from overlayagi.memory.vault.parse import ParsedNote
from overlayagi.memory.vault.schema import VAULT_APPLICATION_ID, VAULT_MIGRATIONS
from overlayagi.memory.vault.summaries import extractive, note_summary
from overlayagi.memory.vault.text import TermNormaliser, chunk_text, estimate_tokens


class VaultError(OverlayError):
    exit_code = 2


@dataclass(frozen=True)
class NoteRow:
    id: int
    path: str
    title: str
    folder: str
    hash: str
    size: int
    mtime: float


def _date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:32]


def note_title(path: str) -> str:
    base = posixpath.basename(path)
    return base.rsplit(".", 1)[0] if "." in base else base


class VaultDB(SQLiteBase):
    APPLICATION_ID = VAULT_APPLICATION_ID
    MIGRATIONS = VAULT_MIGRATIONS
    KIND = "Overlay's vault index"

    # -- meta ---------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self.reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @staticmethod
    def bump_generation(db: sqlite3.Connection) -> None:
        """Readers cache matrices and link maps per generation; any index change bumps it."""
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
        )

    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    @property
    def root(self) -> Path | None:
        value = self.meta("root")
        return Path(value) if value else None

    # -- reading ------------------------------------------------------------------------------
    def notes(self) -> dict[str, NoteRow]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT id, path, title, folder, hash, size, mtime FROM notes"
            ).fetchall()
        return {r[1]: NoteRow(*r) for r in rows}

    def skipped(self) -> dict[str, tuple[str, int, float]]:
        with self.reading() as db:
            rows = db.execute("SELECT path, reason, size, mtime FROM skipped").fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def aliases(self) -> dict[str, list[str]]:
        with self.reading() as db:
            rows = db.execute("SELECT path, aliases FROM notes WHERE aliases != '[]'").fetchall()
        return {r[0]: json.loads(r[1]) for r in rows}

    def counts(self) -> dict[str, int]:
        with self.reading() as db:

            def one(sql: str) -> int:
                return int(db.execute(sql).fetchone()[0])

            return {
                "notes": one("SELECT count(*) FROM notes"),
                "sections": one("SELECT count(*) FROM sections"),
                "chunks": one("SELECT count(*) FROM docs WHERE kind = 'chunk'"),
                "summaries": one("SELECT count(*) FROM docs WHERE kind != 'chunk'"),
                "links": one("SELECT count(*) FROM links"),
                "unresolved": one("SELECT count(*) FROM links WHERE resolved IS NULL"),
                "vectors": one("SELECT count(*) FROM vectors"),  # all embedders together
                "embedders": one("SELECT count(DISTINCT embedder) FROM vectors"),
                "skipped": one("SELECT count(*) FROM skipped"),
                "folders": one("SELECT count(*) FROM folders"),
            }

    # -- writing one note ---------------------------------------------------------------------
    @staticmethod
    def delete_docs(db: sqlite3.Connection, where: str, args: Sequence[Any]) -> None:
        """Docs and their FTS rows (the FTS table has no foreign keys to cascade)."""
        db.execute(f"DELETE FROM docs_fts WHERE rowid IN (SELECT id FROM docs WHERE {where})", args)
        db.execute(f"DELETE FROM docs WHERE {where}", args)

    def delete_note(self, db: sqlite3.Connection, note_id: int) -> None:
        self.delete_docs(db, "note_id = ?", (note_id,))
        db.execute("DELETE FROM notes WHERE id = ?", (note_id,))

    @staticmethod
    def insert_doc(
        db: sqlite3.Connection,
        normaliser: TermNormaliser,
        *,
        kind: str,
        note_id: int | None,
        section_id: int | None,
        folder: str,
        ord: int,
        breadcrumb: list[str],
        text: str,
        title: str,
        line: int = 0,
        extra_terms: str = "",
    ) -> int:
        cursor = db.execute(
            "INSERT INTO docs (kind, note_id, section_id, folder, ord, breadcrumb, text, hash, "
            "tokens, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                note_id,
                section_id,
                folder,
                ord,
                json.dumps(breadcrumb, ensure_ascii=False),
                text,
                text_hash(f"{title}\n{' > '.join(breadcrumb)}\n{text}"),
                estimate_tokens(text),
                line,
            ),
        )
        doc_id = int(cursor.lastrowid or 0)
        db.execute(
            "INSERT INTO docs_fts (rowid, title, heading, body) VALUES (?, ?, ?, ?)",
            (
                doc_id,
                " ".join(normaliser.terms(title)),
                " ".join(normaliser.terms(" ".join(breadcrumb))),
                " ".join(normaliser.terms(f"{text} {extra_terms}")),
            ),
        )
        return doc_id

    def write_note(
        self,
        db: sqlite3.Connection,
        normaliser: TermNormaliser,
        *,
        path: str,
        note: ParsedNote,
        hash: str,
        size: int,
        mtime: float,
        chunk_tokens: int,
    ) -> tuple[int, int]:
        """Insert a parsed note's subtree: note, tags, sections, chunks, summaries, links.

        Returns ``(sections, chunks)``. Links are stored unresolved; the ingest resolves them
        once every note is known."""
        folder = posixpath.dirname(path)
        fm = note.frontmatter
        cursor = db.execute(
            "INSERT INTO notes (path, title, folder, hash, size, mtime, frontmatter, "
            "frontmatter_error, aliases, created, updated, summary, indexed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)",
            (
                path,
                note.title,
                folder,
                hash,
                size,
                mtime,
                json.dumps(fm, ensure_ascii=False, default=str),
                note.frontmatter_error,
                json.dumps(note.aliases, ensure_ascii=False),
                _date(fm.get("created", fm.get("date"))),
                _date(fm.get("updated", fm.get("modified"))),
                time.time(),
            ),
        )
        note_id = int(cursor.lastrowid or 0)
        db.executemany(
            "INSERT OR IGNORE INTO note_tags (note_id, tag) VALUES (?, ?)",
            [(note_id, t.casefold()) for t in note.tags],
        )
        title = " ".join([note.title, *note.aliases])
        tags = " ".join(note.tags)
        chunks = 0
        for ord_, section in enumerate(note.sections):
            cur = db.execute(
                "INSERT INTO sections (note_id, ord, heading, level, path, line, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    note_id,
                    ord_,
                    section.heading,
                    section.level,
                    json.dumps(section.path, ensure_ascii=False),
                    section.line,
                    section.text,
                ),
            )
            section_id = int(cur.lastrowid or 0)
            pieces = chunk_text(section.text, chunk_tokens) if section.text else []
            if not pieces and section.heading:
                pieces = chunk_text(section.heading, chunk_tokens)
            for i, piece in enumerate(pieces):
                self.insert_doc(
                    db,
                    normaliser,
                    kind="chunk",
                    note_id=note_id,
                    section_id=section_id,
                    folder=folder,
                    ord=i,
                    breadcrumb=section.path,
                    text=piece.text,
                    title=title,
                    line=section.line,
                    extra_terms=tags,
                )
            chunks += len(pieces)
            summary = extractive(section.text, normaliser) if section.text else section.heading
            db.execute("UPDATE sections SET summary = ? WHERE id = ?", (summary, section_id))
            if len(pieces) > 1:  # a one-chunk section is searched through that chunk
                self.insert_doc(
                    db,
                    normaliser,
                    kind="section",
                    note_id=note_id,
                    section_id=section_id,
                    folder=folder,
                    ord=0,
                    breadcrumb=section.path,
                    text=summary,
                    title=title,
                    line=section.line,
                )
        headings = [s.heading for s in note.sections if s.heading]
        summary = note_summary(note.title, note.text, headings, normaliser)
        db.execute("UPDATE notes SET summary = ? WHERE id = ?", (summary, note_id))
        self.insert_doc(
            db,
            normaliser,
            kind="note",
            note_id=note_id,
            section_id=None,
            folder=folder,
            ord=0,
            breadcrumb=[],
            text=summary,
            title=title,
            extra_terms=tags,
        )
        db.executemany(
            "INSERT INTO links (note_id, target, heading, block, alias, embed, markdown, line) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    note_id,
                    link.target,
                    link.heading,
                    link.block,
                    link.alias,
                    int(link.embed),
                    int(link.markdown),
                    link.line,
                )
                for link in note.links
            ],
        )
        return len(note.sections), chunks

    @staticmethod
    def record_skip(
        db: sqlite3.Connection, path: str, reason: str, size: int, mtime: float
    ) -> None:
        db.execute(
            "INSERT INTO skipped (path, reason, size, mtime) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET reason = excluded.reason, size = excluded.size, "
            "mtime = excluded.mtime",
            (path, reason, size, mtime),
        )

    def links_of(
        self, note_ids: Iterable[int] | None = None
    ) -> list[tuple[int, str, str, str | None]]:
        """``(rowid, note path, target, resolved)`` for the given notes' links, or all."""
        sql = (
            "SELECT l.rowid, n.path, l.target, l.resolved FROM links l "
            "JOIN notes n ON n.id = l.note_id"
        )
        with self.reading() as db:
            if note_ids is None:
                return [tuple(r) for r in db.execute(sql).fetchall()]
            ids = list(note_ids)
            out: list[tuple[int, str, str, str | None]] = []
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                marks = ",".join("?" * len(part))
                out += [
                    tuple(r)
                    for r in db.execute(f"{sql} WHERE l.note_id IN ({marks})", part).fetchall()
                ]
            return out
