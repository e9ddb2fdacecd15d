"""Dense search over doc vectors: exact while small, an HNSW index (usearch) once large.

Vectors live in the index database (the source of truth); this module keeps a matrix of them
in memory, reloaded when the index's generation changes. Past ``ann_threshold`` vectors it
builds a usearch HNSW index instead, saved beside the database and rebuilt when stale.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from overlayagi.memory.vault.db import VaultDB

log = logging.getLogger(__name__)


_BLAS_LIMITED = False


def _single_threaded_blas() -> None:
    """One BLAS thread for this process's numpy. A query's matrix-vector product is small;
    BLAS worker threads left spinning after it starve the embedder's OpenMP threads on the
    next query (measured: 23 ms → 125 ms per hybrid query on 2 cores)."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
        _BLAS_LIMITED = True


class DenseIndex:
    """The vectors of one embedder (``embedder``: its model id)."""

    def __init__(
        self,
        db: VaultDB,
        embedder: str,
        *,
        ann_threshold: int = 50_000,
        ann_path: Path | None = None,
    ):
        _single_threaded_blas()
        self.db = db
        self.embedder = embedder
        self.ann_threshold = ann_threshold
        self.ann_path = ann_path
        self._generation = -1
        self._ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._matrix: npt.NDArray[np.float32] | None = None
        self._ann: Any = None

    @property
    def size(self) -> int:
        self._refresh()
        return len(self._ids)

    @property
    def uses_ann(self) -> bool:
        self._refresh()
        return self._ann is not None

    def _refresh(self) -> None:
        generation = self.db.generation()
        if generation == self._generation:
            return
        with self.db.reading() as db:
            rows = db.execute(
                "SELECT doc_id, vector FROM vectors WHERE embedder = ? ORDER BY doc_id",
                (self.embedder,),
            ).fetchall()
        self._generation = generation
        self._ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self._ann = None
        self._matrix = None
        if not rows:
            return
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(
            len(rows), -1
        )
        if len(rows) >= self.ann_threshold:
            self._ann = self._load_ann(matrix, generation)
        else:
            self._matrix = matrix

    def _load_ann(self, matrix: npt.NDArray[np.float32], generation: int) -> Any:
        from usearch.index import Index

        index = Index(ndim=matrix.shape[1], metric="cos", dtype="f16")
        stamp = self.ann_path.with_suffix(".generation") if self.ann_path else None
        if (
            self.ann_path
            and stamp
            and self.ann_path.exists()
            and stamp.exists()
            and stamp.read_text().strip() == str(generation)
        ):
            index.load(str(self.ann_path))
            return index
        index.add(self._ids, matrix)
        if self.ann_path and stamp:
            index.save(str(self.ann_path))
            stamp.write_text(str(generation))
        return index

    def search(self, query: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """``(doc_id, cosine)`` best first."""
        self._refresh()
        if not len(self._ids):
            return []
        k = min(k, len(self._ids))
        if self._ann is not None:
            found = self._ann.search(query.astype(np.float32), k)
            return [
                (int(key), 1.0 - float(dist))
                for key, dist in zip(found.keys, found.distances, strict=True)
            ]
        assert self._matrix is not None
        sims = self._matrix @ query.astype(np.float32)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        return [(int(self._ids[i]), float(sims[i])) for i in top]
