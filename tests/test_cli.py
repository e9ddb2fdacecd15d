"""The `overlay` command as a user runs it: output, exit codes and error wording."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, run_cli


def configure(env: dict[str, str], text: str) -> Path:
    home = Path(env["OVERLAY_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "overlay.toml").write_text(text)
    return home / "overlay.toml"


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in (
        "init",
        "ask",
        "chat",
        "run",
        "frames",
        "profile",
        "models",
        "doctor",
        "config",
        "version",
    ):
        assert command in result.stdout


def test_init_then_config_show(cli_home: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "new-ws"
    result = run_cli("init", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "overlay.toml").exists() and (target / "frames").is_dir()
    shown = run_cli(
        "--workspace", str(target), "config", "show", "--json", env={"OVERLAY_ENGINE__SEED": "5"}
    )
    data = json.loads(shown.stdout)
    assert data["engine.seed"] == {"value": 5, "source": "env OVERLAY_ENGINE__SEED"}
    assert data["engine.model"]["source"] == "overlay.toml:6"


@pytest.mark.model
def test_ask_streams_an_answer(cli_home: dict[str, str]) -> None:
    result = run_cli(
        "ask",
        "--temperature",
        "0",
        "--max-tokens",
        "32",
        "What is the capital of France?",
        env=cli_home,
    )
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


@pytest.mark.model
def test_ask_json_prints_the_completion(cli_home: dict[str, str]) -> None:
    result = run_cli(
        "ask", "--json", "--temperature", "0", "--max-tokens", "16", "Say hi", env=cli_home
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model_id"] == "qwen2.5-coder-0.5b" and data["backend"] == "llamacpp"
    assert {"text", "finish_reason", "prompt_tokens", "completion_tokens", "latency_s"} <= set(data)


def test_missing_model_file(cli_home: dict[str, str]) -> None:
    configure(cli_home, '[models.mine]\nbackend = "llamacpp"\npath = "/nowhere/m.gguf"\n')
    result = run_cli("ask", "--model", "mine", "hi", env=cli_home)
    assert result.returncode == 3
    assert "error: model file not found: /nowhere/m.gguf" in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_model_file(cli_home: dict[str, str], tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_text("not a model")
    configure(cli_home, f'[models.mine]\nbackend = "llamacpp"\npath = "{bogus}"\n')
    result = run_cli("ask", "--model", "mine", "hi", env=cli_home)
    assert result.returncode == 3
    assert "is not a GGUF model file" in result.stderr


def test_hash_mismatch_of_catalog_model(cli_home: dict[str, str]) -> None:
    run_cli("init", env=cli_home)
    target = Path(cli_home["OVERLAY_HOME"]) / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    target.write_bytes(b"GGUF" + b"\0" * 10)
    result = run_cli("ask", "hi", env=cli_home)
    assert result.returncode == 3
    assert "truncated or replaced" in result.stderr
    assert "overlay models pull qwen2.5-coder-0.5b --force" in result.stderr


def test_unreachable_endpoint(cli_home: dict[str, str]) -> None:
    configure(
        cli_home,
        f'[models.far]\nbackend = "openai"\nbase_url = "http://127.0.0.1:{free_port()}/v1"\n'
        'model = "m"\ntimeout_s = 3\n\n[engine]\nretries = 0\n',
    )
    result = run_cli("ask", "--model", "far", "hi", env=cli_home)
    assert result.returncode == 3
    assert "error: cannot reach the server" in result.stderr
    assert "fix:   start the server or correct base_url" in result.stderr


@pytest.mark.model
def test_context_overflow(cli_home: dict[str, str]) -> None:
    result = run_cli("ask", "word " * 400, env={**cli_home, "OVERLAY_ENGINE__CONTEXT_SIZE": "256"})
    assert result.returncode == 3
    assert "does not fit the context window of 256 tokens" in result.stderr
    assert "engine.context_size" in result.stderr


def test_bad_config_names_file_and_line(cli_home: dict[str, str]) -> None:
    path = configure(cli_home, "[engine]\ntemperature = 0.5\ntreads = 2\n")
    result = run_cli("models", env=cli_home)
    assert result.returncode == 2
    assert "unknown key 'treads' — did you mean 'threads'?" in result.stderr
    assert f"{path}:3" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run_cli("--debug", "models", env=cli_home)
    assert "Traceback" in debug.stderr


@pytest.mark.model
def test_models_and_doctor(cli_home: dict[str, str]) -> None:
    listing = run_cli("models", env=cli_home)
    assert listing.returncode == 0
    assert "qwen2.5-coder-0.5b" in listing.stdout and "qwen2.5-coder-1.5b" in listing.stdout
    pulled = run_cli("models", "pull", env=cli_home)
    assert pulled.returncode == 0, pulled.stderr
    doctor = run_cli("doctor", env=cli_home)
    assert doctor.returncode == 0, doctor.stdout
    assert "OK   model qwen2.5-coder-0.5b" in doctor.stdout
    assert "sha256 verified" in doctor.stdout and "embedder" in doctor.stdout


def test_doctor_reports_failures_with_fixes(cli_home: dict[str, str]) -> None:
    configure(
        cli_home,
        f'[engine]\nmodel = "far"\n\n[models.far]\nbackend = "openai"\n'
        f'base_url = "http://127.0.0.1:{free_port()}/v1"\nmodel = "m"\ntimeout_s = 3\n',
    )
    result = run_cli("doctor", env=cli_home)
    assert result.returncode == 1
    assert "FAIL model far" in result.stdout
    assert "fix: start the server or correct base_url" in result.stdout


@pytest.mark.model
def test_chat_repl_commands_history_and_ctrl_c(cli_home: dict[str, str]) -> None:
    """Ctrl-C during an answer stops it and keeps the REPL alive; /exit leaves."""
    env = {**os.environ, **cli_home, "OVERLAY_ENGINE__TEMPERATURE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "overlayagi", "chat", "--max-tokens", "400"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        bufsize=1,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    output: list[str] = []
    reader = threading.Thread(
        target=lambda: output.extend(iter(lambda: proc.stdout.read(1), "")),
        daemon=True,  # type: ignore[union-attr]
    )
    reader.start()
    proc.stdin.write("/help\n/model\nWrite the numbers from 1 to 300, separated by commas.\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 120
    while "1, 2, 3" not in "".join(output) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    proc.stdin.write("What is the capital of France?\n/exit\n")
    proc.stdin.flush()
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
    reader.join(timeout=5)
    stdout = "".join(output)
    stderr = proc.stderr.read()
    assert "/model NAME" in stdout  # /help
    assert "model: qwen2.5-coder-0.5b" in stdout  # /model
    assert "(stopped)" in stderr
    assert "300" not in stdout.split("(stopped)")[0]  # it really stopped early
    assert "Paris" in stdout.split("1, 2, 3")[-1]  # and answered the next question


def test_usage_errors_are_usage_errors_not_internal_ones(cli_home: dict[str, str]) -> None:
    """Click's exceptions (Typer may carry its own copy of Click) end as usage errors."""
    for args, message in [
        (("nosuch",), "No such command 'nosuch'"),
        (("models", "list"), "No such command 'list'"),
        (("eval", "gsm8k", "--limit", "0"), "Invalid value for '--limit'"),
    ]:
        result = run_cli(*args, env=cli_home)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "internal error" not in result.stderr
