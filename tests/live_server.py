"""`overlay serve` in a subprocess on a free loopback port, for tests that need a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port


@contextmanager
def live_server(home: Path, **settings: str) -> Iterator[str]:
    """Yields the base URL once /health answers; ``settings`` are OVERLAY_* variables."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERLAY_")}
    env.update({"OVERLAY_HOME": str(home), **settings})
    log = home.parent / f"{home.name}-serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "overlayagi", "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"overlay serve exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("overlay serve did not come up in 120 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
