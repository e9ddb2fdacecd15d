"""Answer-cache threshold: hit rate on paraphrases vs wrong hits on near-misses, per threshold.

Each base question is cached; its paraphrases should hit it, and its near-misses (negations,
swapped entities, other numbers, other places) must not hit anything. A wrong hit is a
near-miss that hits, or a paraphrase that hits another question. The baseline is the exact
match the cache always does first (normalised text): it never hits a paraphrase and never
hits wrongly. The default threshold is the lowest whose wrong-hit rate stays ≤ 2 %.

    python bench/cache.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from overlayagi.memory.caches import normalise_question, same_specifics
from overlayagi.workspace import Workspace

# (question, [paraphrases], [near-misses])
CASES: list[tuple[str, list[str], list[str]]] = [
    (
        "What is the capital of France?",
        ["What's the capital of France?", "Which city is the capital of France?"],
        ["What is the capital of Germany?", "What is the largest city of France?"],
    ),
    (
        "How do I create a new note in Obsidian?",
        ["How can I create a new note in Obsidian?", "How to make a new note in Obsidian?"],
        ["How do I delete a note in Obsidian?", "How do I create a new folder in Obsidian?"],
    ),
    (
        "How many days are in a leap year?",
        ["How many days does a leap year have?", "Number of days in a leap year?"],
        ["How many days are in a regular year?", "How many weeks are in a leap year?"],
    ),
    (
        "Who wrote War and Peace?",
        ["Who is the author of War and Peace?", "War and Peace was written by whom?"],
        ["Who wrote Anna Karenina?", "When was War and Peace written?"],
    ),
    (
        "Is Python faster than Rust?",
        ["Is Python quicker than Rust?", "Does Python run faster than Rust?"],
        ["Is Rust faster than Python?", "Is Python safer than Rust?"],
    ),
    (
        "Convert 100 dollars to euros",
        ["Convert 100 USD to EUR", "How much is 100 dollars in euros?"],
        ["Convert 200 dollars to euros", "Convert 100 euros to dollars"],
    ),
    (
        "What time does the store open on Sunday?",
        ["When does the store open on Sunday?", "On Sunday, what time does the store open?"],
        ["What time does the store close on Sunday?", "What time does the store open on Monday?"],
    ),
    (
        "How do I enable sync in Obsidian?",
        ["How can I turn on sync in Obsidian?", "How to enable Obsidian Sync?"],
        ["How do I disable sync in Obsidian?", "How do I enable publish in Obsidian?"],
    ),
    (
        "Why is the sky blue?",
        ["What makes the sky blue?", "Why does the sky look blue?"],
        ["Why is the sea blue?", "Why is the sunset red?"],
    ),
    (
        "What is 17 times 23?",
        ["What's 17 multiplied by 23?", "Compute 17 times 23"],
        ["What is 17 times 24?", "What is 17 plus 23?"],
    ),
    (
        "Какая столица Франции?",
        ["Назови столицу Франции", "Какой город является столицей Франции?"],
        ["Какая столица Германии?", "Какой самый большой город Франции?"],
    ),
    (
        "Как создать новую заметку в Obsidian?",
        ["Как сделать новую заметку в Obsidian?", "Как в Obsidian создать заметку?"],
        ["Как удалить заметку в Obsidian?", "Как создать новую папку в Obsidian?"],
    ),
    (
        "Сколько дней в високосном году?",
        ["Сколько дней длится високосный год?", "Число дней в високосном году?"],
        ["Сколько дней в обычном году?", "Сколько недель в високосном году?"],
    ),
    (
        "Кто написал «Войну и мир»?",
        ["Кто автор «Войны и мира»?", "Кем написана «Война и мир»?"],
        ["Кто написал «Анну Каренину»?", "Когда написана «Война и мир»?"],
    ),
    (
        "Как включить синхронизацию в Obsidian?",
        ["Как активировать синхронизацию в Obsidian?", "Как в Obsidian включить синхронизацию?"],
        ["Как отключить синхронизацию в Obsidian?", "Как включить публикацию в Obsidian?"],
    ),
    (
        "I am allergic to peanuts",
        ["I have a peanut allergy", "Peanuts give me an allergic reaction"],
        ["I am not allergic to peanuts", "I am allergic to cats"],
    ),
    (
        "Book a table for two at 7 pm",
        ["Reserve a table for two people at 7 pm", "Table for two at 7 in the evening, please"],
        ["Book a table for four at 7 pm", "Book a table for two at 9 pm"],
    ),
    (
        "What is the boiling point of water at sea level?",
        [
            "At sea level, what temperature does water boil at?",
            "Boiling point of water at sea level?",
        ],
        [
            "What is the freezing point of water at sea level?",
            "What is the boiling point of water on Everest?",
        ],
    ),
    (
        "How do I link to a heading in another note?",
        [
            "How can I link to a heading in a different note?",
            "Linking to another note's heading, how?",
        ],
        ["How do I link to a block in another note?", "How do I embed another note?"],
    ),
    (
        "Does the meeting start at 10?",
        ["Is the meeting starting at 10?", "Will the meeting begin at 10?"],
        ["Does the meeting end at 10?", "Does the meeting start at 11?"],
    ),
]

THRESHOLDS = [0.86, 0.88, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        embedder = Workspace.init(Path(tmp) / "ws").build_embedder()
    bases = [c[0] for c in CASES]
    base_vecs = embedder.embed(bases, query=True)
    paraphrases = [(i, p) for i, c in enumerate(CASES) for p in c[1]]
    misses = [(i, m) for i, c in enumerate(CASES) for m in c[2]]
    p_scores = embedder.embed([p for _, p in paraphrases], query=True) @ base_vecs.T
    m_scores = embedder.embed([m for _, m in misses], query=True) @ base_vecs.T
    exact_hits = sum(normalise_question(p) == normalise_question(bases[i]) for i, p in paraphrases)

    def first_hit(text: str, row: np.ndarray, t: float, guard: bool) -> int | None:  # type: ignore[type-arg]
        """What the cache returns: the best-scoring entry above ``t`` (that passes the
        specifics guard, when on)."""
        for j in np.argsort(-row):
            if row[j] < t:
                return None
            if not guard or same_specifics(text, bases[j]):
                return int(j)
        return None

    results = []
    for guard in (False, True):
        for t in THRESHOLDS:
            hits = wrong = 0
            for (i, text), row in zip(paraphrases, p_scores, strict=True):
                got = first_hit(text, row, t, guard)
                hits += got == i
                wrong += got is not None and got != i
            for (_, text), row in zip(misses, m_scores, strict=True):
                wrong += first_hit(text, row, t, guard) is not None
            results.append(
                {
                    "guard": guard,
                    "threshold": t,
                    "hit_rate": hits / len(paraphrases),
                    "wrong_hit_rate": wrong / (len(paraphrases) + len(misses)),
                }
            )
    ok = [r for r in results if r["guard"] and r["wrong_hit_rate"] <= 0.02]
    chosen = min(ok, key=lambda r: r["threshold"]) if ok else results[-1]
    report = {
        "embedder": embedder.model_id,
        "paraphrases": len(paraphrases),
        "near_misses": len(misses),
        "baseline_exact_hit_rate": exact_hits / len(paraphrases),
        "per_threshold": results,
        "chosen": chosen,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{embedder.model_id}: {len(paraphrases)} paraphrases, {len(misses)} near-misses")
    print(
        f"baseline (exact match only): hit rate {report['baseline_exact_hit_rate']:.1%}, "
        "wrong hits 0.0%"
    )
    print("| specifics guard | threshold | hit rate | wrong-hit rate |")
    print("|---|---|---|---|")
    for r in results:
        guard = "on" if r["guard"] else "off"
        print(
            f"| {guard} | {r['threshold']:.2f} | {r['hit_rate']:.1%} | {r['wrong_hit_rate']:.1%} |"
        )
    print(f"chosen: {chosen['threshold']:.2f} with the guard (lowest with wrong hits ≤ 2 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
