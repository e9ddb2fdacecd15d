"""The vault index database (``data/vault.db``): its own numbered migrations.

The index is derived from the notes, so it lives beside the store rather than in it: an ingest
of ten thousand notes never holds the lock that chat turns and the ledger write through, and
the index can be dropped and rebuilt without touching memory.

Searchable units ("docs") are the leaves *and* the summaries of the tree: chunks, section
summaries, note summaries, folder summaries. ``docs_fts`` holds their normalised terms (lemmas
or stems) in three weighted columns; ``vectors`` their dense embeddings,
one set per embedder.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from overlayagi.memory.migrations import _script

VAULT_APPLICATION_ID = 0x4F564C56  # "OVLV"


def v001_index(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            folder TEXT NOT NULL,
            hash TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime REAL NOT NULL,
            frontmatter TEXT NOT NULL DEFAULT '{}',
            frontmatter_error TEXT,
            aliases TEXT NOT NULL DEFAULT '[]',
            created TEXT,
            updated TEXT,
            summary TEXT NOT NULL DEFAULT '',
            indexed REAL NOT NULL
        );
        CREATE INDEX notes_folder ON notes(folder);
        CREATE INDEX notes_hash ON notes(hash);
        CREATE TABLE note_tags (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (note_id, tag)
        );
        CREATE INDEX note_tags_tag ON note_tags(tag);
        CREATE TABLE sections (
            id INTEGER PRIMARY KEY,
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            ord INTEGER NOT NULL,
            heading TEXT NOT NULL,
            level INTEGER NOT NULL,
            path TEXT NOT NULL,
            line INTEGER NOT NULL,
            text TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sections_note ON sections(note_id, ord);
        CREATE TABLE links (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            target TEXT NOT NULL,
            heading TEXT,
            block TEXT,
            alias TEXT,
            embed INTEGER NOT NULL,
            markdown INTEGER NOT NULL,
            line INTEGER NOT NULL,
            resolved TEXT
        );
        CREATE INDEX links_note ON links(note_id);
        CREATE INDEX links_resolved ON links(resolved);
        CREATE TABLE folders (
            path TEXT PRIMARY KEY,
            notes INTEGER NOT NULL,
            summary TEXT NOT NULL
        );
        CREATE TABLE docs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('chunk', 'section', 'note', 'folder')),
            note_id INTEGER REFERENCES notes(id) ON DELETE CASCADE,
            section_id INTEGER REFERENCES sections(id) ON DELETE CASCADE,
            folder TEXT NOT NULL,
            ord INTEGER NOT NULL DEFAULT 0,
            breadcrumb TEXT NOT NULL DEFAULT '[]',
            text TEXT NOT NULL,
            hash TEXT NOT NULL,
            tokens INTEGER NOT NULL,
            line INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX docs_note ON docs(note_id);
        CREATE INDEX docs_section ON docs(section_id);
        CREATE INDEX docs_folder ON docs(kind, folder);
        CREATE VIRTUAL TABLE docs_fts USING fts5(
            title, heading, body, tokenize = 'unicode61 remove_diacritics 0'
        );
        CREATE VIRTUAL TABLE docs_vocab USING fts5vocab(docs_fts, 'row');
        CREATE TABLE vectors (
            doc_id INTEGER PRIMARY KEY REFERENCES docs(id) ON DELETE CASCADE,
            vector BLOB NOT NULL
        );
        CREATE TABLE embeddings (
            hash TEXT NOT NULL,
            embedder TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (hash, embedder)
        );
        CREATE TABLE llm_summaries (
            hash TEXT NOT NULL,
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (hash, model)
        );
        CREATE TABLE skipped (
            path TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime REAL NOT NULL
        );
        """,
    )


def v002_vectors_per_embedder(db: sqlite3.Connection) -> None:
    """Vectors keyed by (embedder, doc): several dense signals over the same docs. Existing
    vectors keep the embedder the index recorded for them."""
    _script(
        db,
        """
        CREATE TABLE vectors_by_embedder (
            embedder TEXT NOT NULL,
            doc_id INTEGER NOT NULL REFERENCES docs(id) ON DELETE CASCADE,
            vector BLOB NOT NULL,
            PRIMARY KEY (embedder, doc_id)
        );
        INSERT INTO vectors_by_embedder (embedder, doc_id, vector)
            SELECT (SELECT value FROM meta WHERE key = 'embedder'), doc_id, vector FROM vectors
            WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'embedder');
        DROP TABLE vectors;
        ALTER TABLE vectors_by_embedder RENAME TO vectors;
        CREATE INDEX vectors_doc ON vectors(doc_id);
        """,
    )


VAULT_MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    v001_index,
    v002_vectors_per_embedder,
]
