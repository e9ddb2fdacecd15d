"""Engine overhead: the same prompts through raw llama-cpp-python and through Overlay's engine.

Both sides load the same GGUF with the same context, threads and batch size, stream the same
greedy completion, and are run alternately (raw, overlay, raw, overlay, …) so drift in machine
load hits both alike. Each run's prompt starts with a different line so llama.cpp's prefix cache
cannot skip prompt processing. Reported per side (medians over N runs): prompt tok/s, generation
tok/s, time to first token; and the ratio overlay/raw. Goal: overhead ≤ 3 %.

    python bench/engine.py [--runs 5] [--max-tokens 128] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from overlayagi.engine.catalog import DEFAULT_MODEL
from overlayagi.engine.llamacpp import LlamaCppLLM
from overlayagi.engine.types import Message
from overlayagi.workspace import Workspace

CONTEXT = (
    "Overlay wraps a local language model in explicit reasoning steps, memory that survives "
    "restarts, a vault of Markdown notes, and a permanent ledger of how it thought. "
) * 12


@dataclass
class Run:
    prompt_tokens: int
    deltas: int
    ttft_s: float
    total_s: float

    @property
    def prompt_tps(self) -> float:
        return self.prompt_tokens / self.ttft_s

    @property
    def gen_tps(self) -> float:
        gen = self.total_s - self.ttft_s
        return (self.deltas - 1) / gen if gen > 0 and self.deltas > 1 else 0.0


def messages_for(i: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f"Run {i}. You are a concise technical writer."},
        {"role": "user", "content": CONTEXT + "\nSummarise the text above in a paragraph."},
    ]


def raw_run(llama: Any, i: int, max_tokens: int) -> Run:
    started = time.perf_counter()
    ttft = None
    deltas = 0
    for chunk in llama.create_chat_completion(
        messages_for(i), max_tokens=max_tokens, temperature=0.0, stream=True
    ):
        if chunk["choices"][0]["delta"].get("content"):
            deltas += 1
            if ttft is None:
                ttft = time.perf_counter() - started
    total = time.perf_counter() - started
    n_prompt = llama.n_tokens - deltas + 1  # tokens evaluated minus generated ones
    return Run(n_prompt, deltas, ttft or total, total)


async def overlay_run(engine: LlamaCppLLM, i: int, max_tokens: int) -> Run:
    msgs = [Message.model_validate(m) for m in messages_for(i)]
    started = time.perf_counter()
    ttft = None
    deltas = 0
    stream = engine.stream(msgs, max_tokens=max_tokens, temperature=0.0)
    async for _ in stream:
        deltas += 1
        if ttft is None:
            ttft = time.perf_counter() - started
    total = time.perf_counter() - started
    assert stream.completion is not None
    return Run(stream.completion.prompt_tokens, deltas, ttft or total, total)


def median(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    from llama_cpp import Llama

    ws = Workspace.open()
    path = ws.prepare_model(DEFAULT_MODEL)
    assert path is not None
    common = {
        "n_ctx": args.context,
        "n_threads": args.threads,
        "n_threads_batch": args.threads,
        "n_batch": 512,
    }
    engine = LlamaCppLLM(
        path,
        model_id=DEFAULT_MODEL,
        context_size=args.context,
        threads=args.threads,
        batch_size=512,
    )
    engine.load()
    # The raw side runs on the same OS thread as Overlay's engine: llama.cpp's OpenMP keeps a
    # thread team per calling thread, and two teams in one process slow each other down.
    on_engine_thread = engine._on_worker
    raw = on_engine_thread(lambda: Llama(model_path=str(path), verbose=False, **common))

    on_engine_thread(raw_run, raw, -1, 8)  # warm-up both sides
    asyncio.run(overlay_run(engine, -1, 8))
    raw_runs: list[Run] = []
    overlay_runs: list[Run] = []
    for i in range(args.runs):
        raw_runs.append(on_engine_thread(raw_run, raw, i, args.max_tokens))
        overlay_runs.append(asyncio.run(overlay_run(engine, i, args.max_tokens)))
        if not args.json:
            print(
                f"run {i + 1}/{args.runs}: raw {raw_runs[-1].gen_tps:.1f} tok/s, "
                f"overlay {overlay_runs[-1].gen_tps:.1f} tok/s",
                file=sys.stderr,
            )

    metrics = ("prompt_tps", "gen_tps", "ttft_s")
    result: dict[str, Any] = {
        "model": DEFAULT_MODEL,
        "runs": args.runs,
        "max_tokens": args.max_tokens,
        "threads": args.threads,
        "prompt_tokens": raw_runs[0].prompt_tokens,
        "raw": {m: median(raw_runs, m) for m in metrics},
        "overlay": {m: median(overlay_runs, m) for m in metrics},
        "raw_runs": [asdict(r) for r in raw_runs],
        "overlay_runs": [asdict(r) for r in overlay_runs],
    }
    result["ratio"] = {m: result["overlay"][m] / result["raw"][m] for m in metrics}
    # Overhead: slower throughput or longer TTFT, in percent (negative = faster than raw).
    result["overhead_pct"] = {
        "prompt_tps": (1 - result["ratio"]["prompt_tps"]) * 100,
        "gen_tps": (1 - result["ratio"]["gen_tps"]) * 100,
        "ttft_s": (result["ratio"]["ttft_s"] - 1) * 100,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"\nengine overhead · {DEFAULT_MODEL} · {args.runs} alternating runs · "
        f"{result['prompt_tokens']} prompt tokens · ≤{args.max_tokens} generated · "
        f"{args.threads} threads"
    )
    print(f"{'metric':<22}{'raw llama-cpp':>14}{'overlay':>12}{'ratio':>9}{'overhead':>10}")
    labels = {"prompt_tps": "prompt tok/s", "gen_tps": "generation tok/s", "ttft_s": "TTFT s"}
    for m in metrics:
        print(
            f"{labels[m]:<22}{result['raw'][m]:>14.3f}{result['overlay'][m]:>12.3f}"
            f"{result['ratio'][m]:>9.3f}{result['overhead_pct'][m]:>9.1f}%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
