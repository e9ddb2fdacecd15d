"""Caches: embeddings by (embedder, sha256 of text); answers by (frame@version, model, question).

An answer is reused on an exact question match, or a semantic one (cosine ≥ ``threshold``,
chosen by ``bench/cache.py`` so that wrong hits stay ≤ 2 %). It is invalid after its TTL, when
the frame version or the model differs (they are part of the key), or when a note it cited has
changed (its content hash is stored with it and checked on every hit).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from overlayagi.engine.protocols import Embedder
from overlayagi.memory.records import CachedAnswer
from overlayagi.memory.store import Store

DEFAULT_THRESHOLD = 0.99  # bench/cache.py: the lowest with ≤ 2 % wrong hits
DEFAULT_TTL_S = 7 * 24 * 3600.0


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_question(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?!. ")


_NEGATIONS = {
    "not",
    "no",
    "never",
    "don't",
    "doesn't",
    "isn't",
    "aren't",
    "won't",
    "can't",
    "without",
    "не",
    "нет",
    "ни",
    "никогда",
    "без",
}
_WORD = re.compile(r"\w[\w'’-]*", re.UNICODE)


def salient(text: str) -> list[str]:
    """What a paraphrase must keep, in order: numbers, names (capitalised words after the
    first), negations — each cut to a 4-letter stem so that inflection does not matter."""
    out: list[str] = []
    for i, word in enumerate(_WORD.findall(text)):
        lower = word.lower()
        if any(ch.isdigit() for ch in word):
            out.append(lower)
        elif lower in _NEGATIONS:
            out.append("¬")
        elif i > 0 and word[0].isupper():
            out.append(lower[:4])
    return out


def same_specifics(a: str, b: str) -> bool:
    """A semantic cache hit also needs the same numbers, names and negations, in order:
    embeddings alone rate "capital of France" and "capital of Germany" as near-identical."""
    return salient(a) == salient(b)


class CachedEmbedder:
    """An ``Embedder`` that remembers every vector it computed, across restarts."""

    def __init__(self, inner: Embedder, store: Store) -> None:
        self.inner = inner
        self.store = store

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str], *, query: bool = False) -> npt.NDArray[np.float32]:
        keys = [sha256_text(("query: " if query else "passage: ") + t) for t in texts]
        found = self.store.get_embeddings(self.model_id, list(dict.fromkeys(keys)))
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            index = {k: i for i, k in enumerate(keys)}
            vectors = self.inner.embed([texts[index[k]] for k in missing], query=query)
            new = [
                (k, v.astype(np.float32).tobytes()) for k, v in zip(missing, vectors, strict=True)
            ]
            self.store.put_embeddings(self.model_id, new)
            found.update(new)
        self.store.bump_counters(
            {"embedding_hits": len(keys) - len(missing), "embedding_misses": len(missing)}
        )
        rows = [np.frombuffer(found[k], dtype=np.float32) for k in keys]
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)


NoteHash = Callable[[str], str | None]
"""A cited note's current content hash (``None``: the note is gone)."""


class AnswerCache:
    def __init__(
        self,
        store: Store,
        embedder: Embedder | None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        ttl_s: float = DEFAULT_TTL_S,
        note_hash: NoteHash | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.threshold = threshold
        self.ttl_s = ttl_s
        self.note_hash = note_hash

    def _valid(self, entry: CachedAnswer, now: float) -> bool:
        if entry.expires < now:
            return False
        if entry.cited and self.note_hash is not None:
            return all(self.note_hash(note) == digest for note, digest in entry.cited.items())
        return not entry.cited or self.note_hash is not None

    def get(self, frame: str, model: str, question: str) -> tuple[CachedAnswer, float] | None:
        """A reusable answer and its similarity (1.0 for an exact match), or ``None``."""
        now = time.time()
        entries = self.store.answers_for(frame, model)
        stale = [e.id for e in entries if not self._valid(e, now)]
        if stale:
            self.store.delete_answers(stale)
        entries = [e for e in entries if e.id not in stale]
        sha = sha256_text(normalise_question(question))
        hit: tuple[CachedAnswer, float] | None = None
        exact = next((e for e in entries if e.question_sha256 == sha), None)
        if exact is not None:
            hit = (exact, 1.0)
        elif self.embedder is not None and entries:
            hit = self._semantic(question, entries)
        self.store.bump_counters({"answer_hits" if hit else "answer_misses": 1})
        if hit:
            self.store.touch_answer(hit[0].id)
        return hit

    def _semantic(
        self, question: str, entries: Sequence[CachedAnswer]
    ) -> tuple[CachedAnswer, float] | None:
        assert self.embedder is not None
        usable = [
            e for e in entries if e.vector is not None and e.embedder == self.embedder.model_id
        ]
        if not usable:
            return None
        q = self.embedder.embed([question], query=True)[0]
        matrix = np.stack([np.frombuffer(e.vector or b"", dtype=np.float32) for e in usable])
        scores = matrix @ q
        for best in np.argsort(-scores):
            if scores[best] < self.threshold:
                break
            if same_specifics(question, usable[best].question):
                return usable[best], float(scores[best])
        return None

    def put(
        self,
        frame: str,
        model: str,
        question: str,
        answer: str,
        cited: Mapping[str, str] | None = None,
    ) -> CachedAnswer:
        now = time.time()
        vector = None
        if self.embedder is not None:
            vector = self.embedder.embed([question], query=True)[0].astype(np.float32).tobytes()
        return self.store.put_answer(
            CachedAnswer(
                id=0,
                frame=frame,
                model=model,
                question=question,
                question_sha256=sha256_text(normalise_question(question)),
                answer=answer,
                cited=dict(cited or {}),
                created=now,
                expires=now + self.ttl_s,
                embedder=self.embedder.model_id if self.embedder else None,
                vector=vector,
            )
        )

    def stats(self) -> dict[str, Any]:
        counters = self.store.counters()
        sizes = self.store.cache_sizes()
        out: dict[str, Any] = {"entries": sizes, **counters}
        for kind in ("answer", "embedding"):
            hits, misses = counters.get(f"{kind}_hits", 0), counters.get(f"{kind}_misses", 0)
            out[f"{kind}_hit_rate"] = hits / (hits + misses) if hits + misses else None
        return out
