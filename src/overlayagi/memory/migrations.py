"""Numbered schema migrations. Append a function; never edit one that has shipped.

Each migration receives an open connection inside the transaction that also records its
number in ``schema_version``; a failure rolls both back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

APPLICATION_ID = 0x4F564C59  # "OVLY": marks the file as Overlay's store


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run statements one by one (``executescript`` would commit the open transaction)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {buffer!r}")


def m001_sessions(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            persona TEXT
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL,
            tokens INTEGER NOT NULL DEFAULT 0,
            created REAL NOT NULL,
            run_id TEXT
        );
        CREATE INDEX messages_session ON messages(session_id, id);
        CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            first_message_id INTEGER NOT NULL,
            last_message_id INTEGER NOT NULL,
            text TEXT NOT NULL,
            tokens INTEGER NOT NULL DEFAULT 0,
            created REAL NOT NULL
        );
        CREATE INDEX summaries_session ON summaries(session_id, last_message_id);
        """,
    )


def m002_insights(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE insights (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            confidence REAL NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            sources TEXT NOT NULL DEFAULT '[]',
            embedder TEXT,
            vector BLOB,
            created REAL NOT NULL,
            updated REAL NOT NULL
        );
        """,
    )


def m003_ledger(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE ledger (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            ts REAL NOT NULL,
            type TEXT NOT NULL,
            payload TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        );
        CREATE INDEX ledger_run ON ledger(run_id, seq);
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            frame TEXT NOT NULL,
            parent_run_id TEXT,
            input TEXT NOT NULL,
            started REAL NOT NULL,
            finished REAL,
            status TEXT,
            reason TEXT
        );
        CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
            BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
            BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        """,
    )


def m004_caches(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE embedding_cache (
            embedder TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (embedder, sha256)
        ) WITHOUT ROWID;
        CREATE TABLE answer_cache (
            id INTEGER PRIMARY KEY,
            frame TEXT NOT NULL,
            model TEXT NOT NULL,
            question TEXT NOT NULL,
            question_sha256 TEXT NOT NULL,
            embedder TEXT,
            vector BLOB,
            answer TEXT NOT NULL,
            cited TEXT NOT NULL DEFAULT '{}',
            created REAL NOT NULL,
            expires REAL NOT NULL,
            hits INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX answer_cache_key ON answer_cache(frame, model, question_sha256);
        CREATE TABLE cache_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_sessions,
    m002_insights,
    m003_ledger,
    m004_caches,
]
SCHEMA_VERSION = len(MIGRATIONS)
