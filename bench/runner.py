"""Runner overhead: one `direct` frame run vs the same single model call made raw.

Both sides send same-length messages with identical sampling (greedy, same max_tokens) to the
same loaded embedded model, alternately, N times; the runner side also writes every event to a
JSONL sink, as `overlay run --events` does. Reported: median wall time per side and the ratio
runner/raw (goal: overhead well under 5 %: frames add steps, not cost per step).

    python bench/runner.py [--runs 7] [--max-tokens 48] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from overlayagi.engine.catalog import DEFAULT_MODEL
from overlayagi.engine.llamacpp import LlamaCppLLM
from overlayagi.engine.types import Message
from overlayagi.frames.library import FrameLibrary
from overlayagi.mind.events import JsonlSink
from overlayagi.mind.runner import Runner
from overlayagi.mind.tools import default_registry
from overlayagi.workspace import Workspace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        path = ws.prepare_model(DEFAULT_MODEL)
        assert path is not None
        llm = LlamaCppLLM(path, model_id=DEFAULT_MODEL, context_size=2048)
        llm.load()
        library = FrameLibrary(None, known_tools=default_registry())
        runner = Runner(
            library.refresh, lambda _m, _a: llm, max_tokens=args.max_tokens, temperature=0.0
        )
        sink = JsonlSink(Path(tmp) / "events.jsonl")
        raw_times: list[float] = []
        run_times: list[float] = []
        for i in range(args.runs + 1):  # the first pair warms up and is dropped
            # Each side's prompt differs from its first token, so neither reuses the KV cache
            # the other just filled (the system prompt's shared prefix is reused by both alike).
            raw_q = f"R{i}. Name one reason to keep notes in Markdown."
            run_q = f"D{i}. Name one reason to keep notes in Markdown."
            started = time.perf_counter()
            llm.chat([Message.user(raw_q)], max_tokens=args.max_tokens, temperature=0.0)
            raw = time.perf_counter() - started
            started = time.perf_counter()
            result = asyncio.run(runner.run("direct", run_q, sink=sink))
            ran = time.perf_counter() - started
            assert result.status == "ok", result.reason
            if i:
                raw_times.append(raw)
                run_times.append(ran)
        sink.close()

    raw_med, run_med = statistics.median(raw_times), statistics.median(run_times)
    report = {
        "runs": args.runs,
        "raw_s": round(raw_med, 4),
        "runner_s": round(run_med, 4),
        "ratio": round(run_med / raw_med, 4),
        "overhead_pct": round((run_med / raw_med - 1) * 100, 2),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print("| metric | raw llm.chat | runner (direct frame) | ratio | overhead |")
        print("|---|---|---|---|---|")
        print(
            f"| wall s (median of {args.runs}) | {raw_med:.3f} | {run_med:.3f} | "
            f"{report['ratio']:.3f} | {report['overhead_pct']:+.1f} % |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
