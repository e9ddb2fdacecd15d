"""Insights: compact facts, preferences, decisions and open questions carried across sessions.

Extraction is schema-constrained JSON from the model (so small models produce valid records);
each insight names the messages it came from. A new insight with an existing key, or whose
embedding is close to an existing one, is merged into it instead of duplicating it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from overlayagi.engine.protocols import LLM, Embedder
from overlayagi.engine.types import Message
from overlayagi.memory.records import Insight, StoredMessage
from overlayagi.memory.store import Store

KINDS = ("fact", "preference", "decision", "question")
MERGE_SIMILARITY = 0.92
"""Cosine above which two insights say the same thing (multilingual-e5-small)."""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "insights": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string", "maxLength": 40},
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "text": {"type": "string", "maxLength": 200},
                    "confidence": {"type": "number"},
                    "sources": {"type": "array", "items": {"type": "integer"}, "maxItems": 5},
                },
                "required": ["key", "kind", "text", "confidence", "sources"],
            },
        }
    },
    "required": ["insights"],
}

INSTRUCTION = (
    "You extract memories about the user from a conversation, for future conversations. "
    "List facts about the user, their preferences, decisions they made and open questions "
    "they have — only what the USER said, never the assistant's words. Each insight has a "
    "short snake_case key, one sentence of text about the user, a confidence from 0 to 1, and "
    "the ids of the messages it comes from. If there is nothing, return an empty list.\n\n"
    "Example conversation:\n[7] user: I'm Ivan, I work night shifts as a nurse.\n"
    "[8] assistant: That sounds demanding!\n[9] user: Please keep answers short.\n"
    'Example answer: {"insights": [{"key": "user_name", "kind": "fact", "text": "The user\'s '
    'name is Ivan.", "confidence": 0.95, "sources": [7]}, {"key": "occupation", "kind": '
    '"fact", "text": "The user works night shifts as a nurse.", "confidence": 0.9, '
    '"sources": [7]}, {"key": "answer_length", "kind": "preference", "text": "The user wants '
    'short answers.", "confidence": 0.9, "sources": [9]}]}'
)


def slug(key: str) -> str:
    return re.sub(r"[^\w]+", "_", key.strip().lower(), flags=re.UNICODE).strip("_")[:64] or "note"


def to_vector(blob: bytes | None) -> np.ndarray[Any, np.dtype[np.float32]] | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


@dataclass(frozen=True)
class MergeResult:
    insight: Insight
    action: str  # "added", "updated" or "merged into <key>"


class InsightMemory:
    def __init__(self, store: Store, embedder: Embedder | None) -> None:
        self.store = store
        self.embedder = embedder

    async def extract(self, llm: LLM, messages: Sequence[StoredMessage]) -> list[Insight]:
        """Insights in ``messages``, from one schema-constrained model call."""
        if not messages:
            return []
        transcript = "\n".join(f"[{m.id}] {m.role}: {m.content}" for m in messages)
        prompt = [Message.system(INSTRUCTION), Message.user(f"Conversation:\n{transcript}")]
        completion = await asyncio.to_thread(
            llm.chat, prompt, schema=SCHEMA, max_tokens=400, temperature=0.0
        )
        valid_ids = {m.id for m in messages}
        found: list[Insight] = []
        for item in (completion.parsed or {}).get("insights", []):
            text = str(item["text"]).strip()
            if not text:
                continue
            found.append(
                Insight(
                    key=slug(str(item["key"])),
                    kind=str(item["kind"]),
                    text=text,
                    confidence=min(1.0, max(0.0, float(item["confidence"]))),
                    sources=sorted({int(s) for s in item["sources"] if int(s) in valid_ids}),
                )
            )
        return found

    def _embed(self, texts: list[str]) -> list[bytes | None]:
        if self.embedder is None or not texts:
            return [None] * len(texts)
        matrix = self.embedder.embed(texts)
        return [row.astype(np.float32).tobytes() for row in matrix]

    def merge(self, new: Sequence[Insight]) -> list[MergeResult]:
        """Store ``new``: same key → update; near-identical meaning → merge; else add."""
        existing = self.store.list_insights()
        vectors = self._embed([i.text for i in new])
        results = []
        for insight, vector in zip(new, vectors, strict=True):
            insight.vector = vector
            insight.embedder = self.embedder.model_id if self.embedder and vector else None
            target = next((e for e in existing if e.key == insight.key), None)
            action = "updated"
            if target is None and vector is not None:
                target = self._closest(vector, existing)
                action = f"merged into {target.key}" if target else action
            if target is None:
                stored = self.store.upsert_insight(insight)
                existing.append(stored)
                results.append(MergeResult(stored, "added"))
                continue
            target.text = insight.text
            target.kind = insight.kind
            target.confidence = max(target.confidence, insight.confidence)
            target.sources = sorted(set(target.sources) | set(insight.sources))
            target.vector, target.embedder = insight.vector, insight.embedder
            results.append(MergeResult(self.store.upsert_insight(target), action))
        return results

    def _closest(self, vector: bytes, existing: Sequence[Insight]) -> Insight | None:
        query = to_vector(vector)
        best, best_score = None, MERGE_SIMILARITY
        for other in existing:
            candidate = to_vector(other.vector)
            if candidate is None or query is None or candidate.shape != query.shape:
                continue
            score = float(candidate @ query)
            if score >= best_score:
                best, best_score = other, score
        return best

    def relevant(self, query: str, k: int = 5, min_score: float = 0.80) -> list[Insight]:
        """Pinned insights, then the ``k`` closest to ``query`` above ``min_score``."""
        insights = self.store.list_insights()
        pinned = [i for i in insights if i.pinned]
        rest = [i for i in insights if not i.pinned and i.vector is not None]
        if not rest or self.embedder is None:
            return pinned
        q = self.embedder.embed([query], query=True)[0].astype(np.float32)
        matrix = np.stack([np.frombuffer(i.vector or b"", dtype=np.float32) for i in rest])
        scores = matrix @ q
        order = np.argsort(-scores)[:k]
        return pinned + [rest[i] for i in order if scores[i] >= min_score]
