"""Server overhead under load: N concurrent sessions × M turns against a live `overlay serve`.

    python bench/server_load.py [--sessions 50] [--turns 5] [--json]

The model is the `echo` backend (FOR BENCHMARKING ONLY: it answers with the last user message),
so the figures are the server's own cost: HTTP, validation, session memory in SQLite, metrics.
The baseline, measured in the same run with the same client, is a bare FastAPI app on uvicorn
that returns the same OpenAI-shaped JSON with no Overlay behind it. Reported: p50/p99 latency
of both, what Overlay adds at p99, throughput and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def baseline_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        text = body["messages"][-1]["content"]
        return {
            "id": "x",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        }

    return app


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    # The server's log goes to a file: an undrained pipe would block it once full.
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
    raise SystemExit("server did not start")


async def load(port: int, sessions: int, turns: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
    ) as client:

        async def one_session(i: int) -> None:
            nonlocal errors
            for turn in range(turns):
                body = {
                    "model": "echo",
                    "user": f"load-{i}",
                    "messages": [{"role": "user", "content": f"session {i} turn {turn} hello"}],
                }
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/chat/completions", json=body)
                    ok = response.status_code == 200 and response.json()["choices"]
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += 0 if ok else 1

        # Open every connection first: the figures are per request, not per TCP handshake.
        await asyncio.gather(*(client.get("/health") for _ in range(sessions)))
        started = time.perf_counter()
        await asyncio.gather(*(one_session(i) for i in range(sessions)))
        wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "throughput_rps": round(len(latencies) / wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        import uvicorn

        uvicorn.run(
            baseline_app(),
            host="127.0.0.1",
            port=args.serve_baseline,
            log_level="warning",
            access_log=False,
        )
        return 0

    home = Path(tempfile.mkdtemp(prefix="overlay-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERLAY_")}
    env.update({"OVERLAY_HOME": str(home), "OVERLAY_ENGINE__MODEL": "echo"})
    subprocess.run(
        [sys.executable, "-m", "overlayagi", "init"], env=env, check=True, capture_output=True
    )
    with (home / "overlay.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[models.echo]\nbackend = "echo"   # benchmarking only\n')

    results = {}
    for name, cmd_of in (
        ("baseline", lambda p: [sys.executable, __file__, "--serve-baseline", str(p)]),
        ("overlay", lambda p: [sys.executable, "-m", "overlayagi", "serve", "--port", str(p)]),
    ):
        port = free_port()
        proc = start(cmd_of(port), env, port, home / f"{name}.log")
        try:
            asyncio.run(load(port, 2, 2))  # warm up
            results[name] = asyncio.run(load(port, args.sessions, args.turns))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    added = {
        "added_p50_ms": round(results["overlay"]["p50_ms"] - results["baseline"]["p50_ms"], 2),
        "added_p99_ms": round(results["overlay"]["p99_ms"] - results["baseline"]["p99_ms"], 2),
        "p99_ratio": round(results["overlay"]["p99_ms"] / results["baseline"]["p99_ms"], 2),
    }
    report = {"sessions": args.sessions, "turns": args.turns, **results, **added}
    if args.json:
        print(json.dumps(report))
        return 0
    for name in ("baseline", "overlay"):
        r = results[name]
        print(
            f"{name:<9} {r['requests']} requests, {r['errors']} errors: p50 {r['p50_ms']} ms, "
            f"p99 {r['p99_ms']} ms, {r['throughput_rps']} req/s"
        )
    print(
        f"overlay adds {added['added_p50_ms']} ms at p50 and {added['added_p99_ms']} ms at p99 "
        f"(p99 ×{added['p99_ratio']}) with {args.sessions} concurrent sessions × {args.turns} turns"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
