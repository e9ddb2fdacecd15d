"""A short, highlighted excerpt of a hit: the sentences that hold the most query terms."""

from __future__ import annotations

from overlayagi.memory.vault.text import TermNormaliser, sentences

MAX_CHARS = 280


def highlight_snippet(
    text: str, terms: set[str], normaliser: TermNormaliser, *, max_chars: int = MAX_CHARS
) -> str:
    """The best window of whole sentences, matched words in ``**bold**`` (Markdown)."""
    found = sentences(text) or [text]
    scores = [len({t for _, _, t in normaliser.words_and_terms(s)} & terms) for s in found]
    best_start, best_score = 0, -1
    for start in range(len(found)):
        size, score, end = 0, 0, start
        while end < len(found) and (size == 0 or size + len(found[end]) <= max_chars):
            size += len(found[end]) + 1
            score += scores[end]
            end += 1
        if score > best_score:
            best_start, best_score = start, score
    window: list[str] = []
    size = 0
    for sentence in found[best_start:]:
        if window and size + len(sentence) > max_chars:
            break
        window.append(sentence)
        size += len(sentence) + 1
    excerpt = " ".join(window)
    if len(excerpt) > max_chars:
        excerpt = excerpt[:max_chars].rsplit(" ", 1)[0] + " …"
    return _bold(excerpt, terms, normaliser)


def _bold(text: str, terms: set[str], normaliser: TermNormaliser) -> str:
    out: list[str] = []
    last = 0
    for start, end, term in normaliser.words_and_terms(text):
        if term in terms:
            out.append(text[last:start])
            out.append(f"**{text[start:end]}**")
            last = end
    out.append(text[last:])
    return "".join(out)
