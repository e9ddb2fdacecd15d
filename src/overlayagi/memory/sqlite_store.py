"""``Store`` on SQLite: sessions, insights, the hash-chained ledger, caches."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from overlayagi.memory.hashing import GENESIS, canonical, chain_hash, payload_text
from overlayagi.memory.records import (
    CachedAnswer,
    Insight,
    LedgerRecord,
    NewLedgerEntry,
    RunInfo,
    SessionInfo,
    StoredMessage,
    Summary,
)
from overlayagi.memory.sqlite_base import SQLiteBase

_SESSION_COLS = "s.id, s.name, s.created, s.updated, s.persona"


def _session(row: Any, count: int = 0) -> SessionInfo:
    return SessionInfo(row[0], row[1], row[2], row[3], row[4], count)


def _message(row: Any) -> StoredMessage:
    return StoredMessage(*row)


def _insight(row: Any) -> Insight:
    return Insight(
        key=row[0],
        kind=row[1],
        text=row[2],
        confidence=row[3],
        pinned=bool(row[4]),
        sources=json.loads(row[5]),
        embedder=row[6],
        vector=row[7],
        created=row[8],
        updated=row[9],
    )


_INSIGHT_COLS = "key, kind, text, confidence, pinned, sources, embedder, vector, created, updated"
_MESSAGE_COLS = "id, session_id, role, content, tokens, created, run_id"
_ANSWER_COLS = (
    "id, frame, model, question, question_sha256, answer, cited, created, expires, embedder, "
    "vector, hits"
)


def _answer(row: Any) -> CachedAnswer:
    return CachedAnswer(
        id=row[0],
        frame=row[1],
        model=row[2],
        question=row[3],
        question_sha256=row[4],
        answer=row[5],
        cited=json.loads(row[6]),
        created=row[7],
        expires=row[8],
        embedder=row[9],
        vector=row[10],
        hits=row[11],
    )


class SQLiteStore(SQLiteBase):
    # -- sessions ----------------------------------------------------------------------------
    def ensure_session(self, name: str) -> SessionInfo:
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sessions (name, created, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO NOTHING",
                (name, now, now),
            )
        found = self.get_session(name)
        assert found is not None
        return found

    def get_session(self, name: str) -> SessionInfo | None:
        with self.reading() as db:
            row = db.execute(
                f"SELECT {_SESSION_COLS}, (SELECT count(*) FROM messages m WHERE "
                "m.session_id = s.id) FROM sessions s WHERE s.name = ?",
                (name,),
            ).fetchone()
        return _session(row, row[5]) if row else None

    def list_sessions(self) -> list[SessionInfo]:
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {_SESSION_COLS}, (SELECT count(*) FROM messages m WHERE "
                "m.session_id = s.id) FROM sessions s ORDER BY s.updated DESC"
            ).fetchall()
        return [_session(r, r[5]) for r in rows]

    def delete_session(self, name: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM sessions WHERE name = ?", (name,)).rowcount > 0

    def add_messages(
        self, session_id: int, messages: Sequence[tuple[str, str, int]], run_id: str | None = None
    ) -> list[StoredMessage]:
        now = time.time()
        ids = []
        with self.transaction() as db:
            for role, content, tokens in messages:
                cur = db.execute(
                    "INSERT INTO messages (session_id, role, content, tokens, created, run_id) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, role, content, tokens, now, run_id),
                )
                ids.append(cur.lastrowid)
            db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))
        return [
            StoredMessage(int(i or 0), session_id, r, c, t, now, run_id)
            for i, (r, c, t) in zip(ids, messages, strict=True)
        ]

    def messages(
        self, session_id: int, *, after_id: int = 0, limit: int | None = None
    ) -> list[StoredMessage]:
        sql = f"SELECT {_MESSAGE_COLS} FROM messages WHERE session_id = ? AND id > ? ORDER BY id"
        params: tuple[Any, ...] = (session_id, after_id)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        with self.reading() as db:
            return [_message(r) for r in db.execute(sql, params)]

    def recent_messages(self, session_id: int, limit: int) -> list[StoredMessage]:
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE session_id = ? "
                "ORDER BY id DESC LIMIT ?",
                (session_id, limit),
            ).fetchall()
        return [_message(r) for r in reversed(rows)]

    def search_messages(self, session_id: int, text: str, limit: int = 20) -> list[StoredMessage]:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE session_id = ? AND content LIKE ? "
                "ESCAPE '\\' ORDER BY id LIMIT ?",
                (session_id, pattern, limit),
            ).fetchall()
        return [_message(r) for r in rows]

    def add_summary(
        self, session_id: int, first_id: int, last_id: int, text: str, tokens: int
    ) -> Summary:
        now = time.time()
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO summaries (session_id, first_message_id, last_message_id, text, "
                "tokens, created) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, first_id, last_id, text, tokens, now),
            )
        return Summary(int(cur.lastrowid or 0), session_id, first_id, last_id, text, tokens, now)

    def latest_summary(self, session_id: int) -> Summary | None:
        found = self.summaries(session_id)
        return found[-1] if found else None

    def summaries(self, session_id: int) -> list[Summary]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT id, session_id, first_message_id, last_message_id, text, tokens, created "
                "FROM summaries WHERE session_id = ? ORDER BY last_message_id, id",
                (session_id,),
            ).fetchall()
        return [Summary(*r) for r in rows]

    # -- insights ----------------------------------------------------------------------------
    def upsert_insight(self, insight: Insight) -> Insight:
        now = time.time()
        insight.created = insight.created or now
        insight.updated = now
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO insights ({_INSIGHT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, text = excluded.text, "
                "confidence = excluded.confidence, pinned = excluded.pinned, "
                "sources = excluded.sources, embedder = excluded.embedder, "
                "vector = excluded.vector, updated = excluded.updated",
                (
                    insight.key,
                    insight.kind,
                    insight.text,
                    insight.confidence,
                    int(insight.pinned),
                    json.dumps(insight.sources),
                    insight.embedder,
                    insight.vector,
                    insight.created,
                    insight.updated,
                ),
            )
        return insight

    def get_insight(self, key: str) -> Insight | None:
        with self.reading() as db:
            row = db.execute(
                f"SELECT {_INSIGHT_COLS} FROM insights WHERE key = ?", (key,)
            ).fetchone()
        return _insight(row) if row else None

    def list_insights(self) -> list[Insight]:
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {_INSIGHT_COLS} FROM insights ORDER BY pinned DESC, updated DESC"
            ).fetchall()
        return [_insight(r) for r in rows]

    def delete_insight(self, key: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM insights WHERE key = ?", (key,)).rowcount > 0

    # -- the ledger --------------------------------------------------------------------------
    def append_ledger(self, entries: Sequence[NewLedgerEntry]) -> list[LedgerRecord]:
        """Append in one transaction, each record chained to the one before it."""
        out: list[LedgerRecord] = []
        with self.transaction() as db:
            last = db.execute("SELECT hash FROM ledger ORDER BY id DESC LIMIT 1").fetchone()
            prev = last[0] if last else GENESIS
            for e in entries:
                payload = payload_text(e.payload)
                digest = chain_hash(prev, canonical(e.run_id, e.seq, e.ts, e.type, e.payload))
                cur = db.execute(
                    "INSERT INTO ledger (run_id, seq, ts, type, payload, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (e.run_id, e.seq, e.ts, e.type, payload, prev, digest),
                )
                out.append(
                    LedgerRecord(
                        int(cur.lastrowid or 0),
                        e.run_id,
                        e.seq,
                        e.ts,
                        e.type,
                        payload,
                        prev,
                        digest,
                    )
                )
                self._index_run(db, e)
                prev = digest
        return out

    @staticmethod
    def _index_run(db: sqlite3.Connection, e: NewLedgerEntry) -> None:
        if e.type == "run_started":
            db.execute(
                "INSERT OR IGNORE INTO runs (run_id, frame, parent_run_id, input, started) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    e.run_id,
                    e.payload.get("frame", "?"),
                    e.payload.get("parent_run_id"),
                    str(e.payload.get("input", ""))[:500],
                    e.ts,
                ),
            )
        elif e.type == "run_finished":
            db.execute(
                "UPDATE runs SET finished = ?, status = ?, reason = ? WHERE run_id = ?",
                (e.ts, e.payload.get("status"), e.payload.get("reason"), e.run_id),
            )
        elif e.type == "run_resumed":
            db.execute(
                "UPDATE runs SET finished = NULL, status = NULL, reason = NULL WHERE run_id = ?",
                (e.run_id,),
            )

    def ledger(self, run_id: str | None = None, *, after_id: int = 0) -> Iterator[LedgerRecord]:
        sql = "SELECT id, run_id, seq, ts, type, payload, prev_hash, hash FROM ledger WHERE id > ?"
        params: tuple[Any, ...] = (after_id,)
        if run_id is not None:
            sql += " AND run_id = ?"
            params += (run_id,)
        sql += " ORDER BY id LIMIT 1000"
        while True:
            with self.reading() as db:
                rows = db.execute(sql, params).fetchall()
            if not rows:
                return
            for row in rows:
                yield LedgerRecord(*row)
            params = (rows[-1][0], *params[1:])

    def ledger_before(self, record_id: int) -> LedgerRecord | None:
        with self.reading() as db:
            row = db.execute(
                "SELECT id, run_id, seq, ts, type, payload, prev_hash, hash FROM ledger "
                "WHERE id < ? ORDER BY id DESC LIMIT 1",
                (record_id,),
            ).fetchone()
        return LedgerRecord(*row) if row else None

    def runs(self, limit: int = 50) -> list[RunInfo]:
        with self.reading() as db:
            rows = db.execute(
                "SELECT run_id, frame, parent_run_id, input, started, finished, status, reason "
                "FROM runs ORDER BY started DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [RunInfo(*r) for r in rows]

    def run(self, run_id: str) -> RunInfo | None:
        with self.reading() as db:
            row = db.execute(
                "SELECT run_id, frame, parent_run_id, input, started, finished, status, reason "
                "FROM runs WHERE run_id = ? OR run_id LIKE ? ORDER BY started DESC LIMIT 1",
                (run_id, run_id + "%"),
            ).fetchone()
        return RunInfo(*row) if row else None

    # -- caches ------------------------------------------------------------------------------
    def get_embeddings(self, embedder: str, hashes: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self.reading() as db:
            for start in range(0, len(hashes), 500):
                chunk = list(hashes[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for sha, vector in db.execute(
                    f"SELECT sha256, vector FROM embedding_cache WHERE embedder = ? "
                    f"AND sha256 IN ({marks})",
                    (embedder, *chunk),
                ):
                    found[sha] = vector
        return found

    def put_embeddings(self, embedder: str, items: Sequence[tuple[str, bytes]]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embedding_cache (embedder, sha256, vector) "
                "VALUES (?, ?, ?)",
                [(embedder, sha, vec) for sha, vec in items],
            )

    def put_answer(self, entry: CachedAnswer) -> CachedAnswer:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO answer_cache (frame, model, question, question_sha256, answer, cited, "
                "created, expires, embedder, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.frame,
                    entry.model,
                    entry.question,
                    entry.question_sha256,
                    entry.answer,
                    json.dumps(entry.cited),
                    entry.created,
                    entry.expires,
                    entry.embedder,
                    entry.vector,
                ),
            )
        entry.id = int(cur.lastrowid or 0)
        return entry

    def answers_for(self, frame: str, model: str) -> list[CachedAnswer]:
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {_ANSWER_COLS} FROM answer_cache WHERE frame = ? AND model = ?",
                (frame, model),
            ).fetchall()
        return [_answer(r) for r in rows]

    def touch_answer(self, answer_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE answer_cache SET hits = hits + 1 WHERE id = ?", (answer_id,))

    def delete_answers(self, ids: Sequence[int]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM answer_cache WHERE id = ?", [(i,) for i in ids])

    def clear_cache(self, which: str) -> int:
        table = {"embeddings": "embedding_cache", "answers": "answer_cache"}[which]
        with self.transaction() as db:
            return db.execute(f"DELETE FROM {table}").rowcount

    def bump_counters(self, deltas: Mapping[str, int]) -> None:
        """Add to several counters in one transaction."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO cache_counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                list(deltas.items()),
            )

    def counters(self) -> dict[str, int]:
        with self.reading() as db:
            return dict(db.execute("SELECT name, value FROM cache_counters").fetchall())

    def cache_sizes(self) -> dict[str, int]:
        with self.reading() as db:
            return {
                "embeddings": db.execute("SELECT count(*) FROM embedding_cache").fetchone()[0],
                "answers": db.execute("SELECT count(*) FROM answer_cache").fetchone()[0],
            }
