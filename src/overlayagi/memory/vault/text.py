"""Language-aware terms for BM25, sentences, and chunks that never cut a sentence.

Each word is normalised by its script: Cyrillic words to their dictionary form with pymorphy3
("ошибок" → "ошибка") — or to Snowball stems with ``russian="stem"`` —, Latin words to English
Snowball stems ("linking" → "link"). Stop words of both languages are dropped. Results are
memoised per word, so a large vault costs one analysis per distinct word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

import Stemmer
from stop_words import get_stop_words

RussianMode = Literal["lemma", "stem"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]")
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+|\n+")


@cache
def _stopwords() -> frozenset[str]:
    words = set(get_stop_words("english")) | set(get_stop_words("russian"))
    return frozenset(w.replace("ё", "е") for w in words)


@cache
def _morph() -> object:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


class TermNormaliser:
    """Words → index terms. One instance per process is plenty (it memoises)."""

    def __init__(self, russian: RussianMode = "lemma") -> None:
        self.russian = russian
        self._en = Stemmer.Stemmer("english")
        self._ru = Stemmer.Stemmer("russian")
        self._memo: dict[str, str] = {}
        self._stop = _stopwords()

    def _normalise(self, word: str) -> str:
        if _CYRILLIC.search(word):
            if self.russian == "lemma":
                parsed = _morph().parse(word)  # type: ignore[attr-defined]
                form: str = parsed[0].normal_form if parsed else word
                return form.replace("ё", "е")
            return str(self._ru.stemWord(word))
        return str(self._en.stemWord(word))

    def term(self, word: str) -> str | None:
        """The index term for one lower-cased word, or ``None`` for a stop word."""
        found = self._memo.get(word)
        if found is None:
            plain = word.replace("ё", "е").replace("’", "'")
            found = "" if plain in self._stop else self._normalise(plain)
            self._memo[word] = found
        return found or None

    def terms(self, text: str) -> list[str]:
        out: list[str] = []
        for match in _WORD.finditer(text.lower()):
            term = self.term(match.group())
            if term:
                out.append(term)
        return out

    def words_and_terms(self, text: str) -> Iterator[tuple[int, int, str]]:
        """``(start, end, term)`` for each non-stop word of ``text``, for highlighting."""
        for match in _WORD.finditer(text):
            term = self.term(match.group().lower())
            if term:
                yield match.start(), match.end(), term


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (≈ words × 1.3, or characters / 4 for dense text)."""
    words = len(text.split())
    return max(int(words * 1.3), len(text) // 4, 1 if text else 0)


def sentences(text: str) -> list[str]:
    """Sentences and lines. Lists, table rows and code lines each count as one."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _split_long(sentence: str, max_tokens: int) -> list[str]:
    """A single sentence longer than a chunk: cut between words, the only place left."""
    words = sentence.split()
    step = max(1, int(max_tokens / 1.3))
    return [" ".join(words[i : i + step]) for i in range(0, len(words), step)]


@dataclass(frozen=True)
class Chunk:
    text: str
    tokens: int


def chunk_text(text: str, max_tokens: int = 200) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` (estimated)."""
    chunks: list[Chunk] = []
    buffer: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal buffer, size
        if buffer:
            joined = " ".join(buffer)
            chunks.append(Chunk(joined, estimate_tokens(joined)))
        buffer, size = [], 0

    for sentence in sentences(text):
        tokens = estimate_tokens(sentence)
        pieces = [sentence] if tokens <= max_tokens else _split_long(sentence, max_tokens)
        for piece in pieces:
            cost = estimate_tokens(piece)
            if buffer and size + cost > max_tokens:
                flush()
            buffer.append(piece)
            size += cost
    flush()
    return chunks
