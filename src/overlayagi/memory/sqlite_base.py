"""Opening the SQLite store safely: identify the file, check it, migrate it, write atomically.

One file (``data/overlay.db``) in WAL mode with foreign keys on. A file that is not an SQLite
database, belongs to another application, is damaged, or was written by a newer Overlay raises
``StoreError`` naming the file — it is never reset or overwritten.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from overlayagi.memory.errors import StoreError
from overlayagi.memory.migrations import APPLICATION_ID, MIGRATIONS

SQLITE_MAGIC = b"SQLite format 3\x00"


def _refuse(path: Path, what: str, fix: str) -> StoreError:
    return StoreError(f"{path} {what}", where=str(path), fix=fix)


class SQLiteBase:
    """Subclasses may name their own file kind: a different ``APPLICATION_ID`` and list of
    ``MIGRATIONS`` (the vault index is a second database beside the store)."""

    APPLICATION_ID: int = APPLICATION_ID
    MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = MIGRATIONS
    KIND = "Overlay's store"

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._check_header()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self.db.execute("PRAGMA busy_timeout = 10000")
            self._identify()
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute(f"PRAGMA synchronous = {synchronous}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._check_integrity()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise _refuse(
                path,
                f"cannot be used as {self.KIND}: {exc}",
                "move the file aside (it is left untouched) and Overlay creates a new store; "
                "or restore it from a backup",
            ) from exc

    # -- opening -----------------------------------------------------------------------------
    def _check_header(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb") as fh:
            head = fh.read(16)
        if head != SQLITE_MAGIC:
            raise _refuse(
                self.path,
                "is not an SQLite database (foreign or damaged file)",
                "move it aside; Overlay will not overwrite it",
            )

    def _identify(self) -> None:
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        tables = self.db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
        if app_id == 0 and tables == 0:
            self.db.execute(f"PRAGMA application_id = {self.APPLICATION_ID}")
        elif app_id != self.APPLICATION_ID:
            raise _refuse(
                self.path,
                "is an SQLite database of another application (its application_id is "
                f"{app_id:#x}, not {self.KIND})",
                "point the workspace at its own folder, or move the file aside",
            )

    def _check_integrity(self) -> None:
        result = self.db.execute("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise _refuse(
                self.path,
                f"is damaged (integrity check: {result})",
                "restore it from a backup or a `overlay memory export` file; the damaged file "
                "is left as it is",
            )

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "applied REAL NOT NULL)"
            )
            current = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[
                0
            ]
        if current > len(self.MIGRATIONS):
            raise _refuse(
                self.path,
                f"has schema version {current}, newer than this Overlay knows "
                f"({len(self.MIGRATIONS)})",
                "upgrade Overlay (pip install -U overlayagi)",
            )
        for number in range(current + 1, len(self.MIGRATIONS) + 1):
            with self.transaction() as db:
                self.MIGRATIONS[number - 1](db)
                db.execute(
                    "INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                    (number, time.time()),
                )

    # -- writing -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls back."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self.db

    @property
    def schema_version(self) -> int:
        with self.reading() as db:
            return int(db.execute("SELECT max(version) FROM schema_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self.db.close()
