"""Shared fixtures. Model-dependent tests use the real embedded model (assembled once into the
shared model cache by `make test`'s setup, or here on first use)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from overlayagi.engine.catalog import DEFAULT_MODEL
from overlayagi.engine.llamacpp import LlamaCppLLM
from overlayagi.workspace import Workspace


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's OVERLAY_* settings."""
    for name in list(os.environ):
        if name.startswith("OVERLAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    home = tmp_path / "ws"
    monkeypatch.setenv("OVERLAY_HOME", str(home))
    return Workspace.init(home)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = Workspace.init(tmp_path_factory.mktemp("model-ws"))
    path = ws.prepare_model(DEFAULT_MODEL)
    assert path is not None
    return path


@pytest.fixture(scope="session")
def llm(model_path: Path) -> LlamaCppLLM:
    engine = LlamaCppLLM(model_path, model_id=DEFAULT_MODEL, context_size=2048)
    engine.load()
    return engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `overlay` as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "overlayagi", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
    )


@pytest.fixture
def cli_home(tmp_path: Path) -> Iterator[dict[str, str]]:
    home = tmp_path / "cli-ws"
    yield {"OVERLAY_HOME": str(home)}
