"""Summaries for every node of the tree: extractive by default, abstractive on request.

Extractive (no model, fast): the sentences whose terms are most frequent in the node itself
(Luhn's idea), kept in their original order, plus the node's outline (child headings, note
titles, sub-folders). Abstractive: a callable that asks the model, cached by content hash in
the index so a resumed or repeated ingest never asks twice for the same text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from overlayagi.memory.vault.text import TermNormaliser, sentences

MAX_SENTENCES = 3
MAX_CHARS = 600

LLMSummariser = Callable[[str, str], str]
"""``(kind, text) → summary``; ``kind`` is section, note or folder."""


def extractive(
    text: str, normaliser: TermNormaliser, *, limit: int = MAX_SENTENCES, max_chars: int = MAX_CHARS
) -> str:
    found = sentences(text)
    if len(found) <= limit:
        return " ".join(found)[:max_chars]
    per_sentence = [normaliser.terms(s) for s in found]
    freq = Counter(t for terms in per_sentence for t in terms)
    ranked = sorted(
        range(len(found)),
        key=lambda i: (
            -(sum(freq[t] for t in set(per_sentence[i])) / (1 + len(per_sentence[i])) ** 0.5),
            i,
        ),
    )
    # The first sentence usually says what the node is about: always keep it.
    chosen = sorted({0, *ranked[: limit - 1]})
    return " ".join(found[i] for i in chosen)[:max_chars]


def outline(label: str, items: Sequence[str], *, limit: int = 24) -> str:
    if not items:
        return ""
    shown = list(items[:limit])
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return f"{label}: " + "; ".join(shown) + more


def note_summary(title: str, body: str, headings: Sequence[str], normaliser: TermNormaliser) -> str:
    parts = [title, extractive(body, normaliser), outline("Sections", headings)]
    return "\n".join(p for p in parts if p)


def folder_summary(path: str, titles: Sequence[str], subfolders: Sequence[str]) -> str:
    name = path or "Vault"
    parts = [name, outline("Notes", titles), outline("Folders", subfolders)]
    return "\n".join(p for p in parts if p)
