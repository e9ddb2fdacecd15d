"""`overlay run`, `overlay frames …` and `overlay profile …` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.mark.model
def test_run_streams_and_prints_the_trace(cli_home: dict[str, str]) -> None:
    result = run_cli("run", "cot", "What is 2 + 2?", "--trace", "--seed", "1", env=cli_home)
    assert result.returncode == 0, result.stderr
    assert "cot@1.0.0 · ok (completed)" in result.stdout
    assert "answer (generate #1)" in result.stdout and " tok" in result.stdout
    assert "<output>" not in result.stdout and "<thinking>" not in result.stdout


@pytest.mark.model
def test_run_json_and_events_file(cli_home: dict[str, str], tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    result = run_cli("run", "direct", "Say hi.", "--json", "--events", str(events), env=cli_home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and data["frame"] == "direct@1.0.0"
    assert data["trace"]["children"][0]["children"][0]["kind"] == "llm_call"
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[0]["type"] == "run_started" and lines[-1]["type"] == "run_finished"


@pytest.mark.model
def test_ask_with_a_frame(cli_home: dict[str, str]) -> None:
    result = run_cli("ask", "--frame", "direct", "Reply with the word yes.", env=cli_home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_run_unknown_frame_suggests(cli_home: dict[str, str]) -> None:
    result = run_cli("run", "refelct", "hi", env=cli_home)
    assert result.returncode == 2
    assert "unknown frame 'refelct' — did you mean 'reflect'?" in result.stderr


def test_frames_validate_and_history(cli_home: dict[str, str], tmp_path: Path) -> None:
    assert run_cli("init", env=cli_home).returncode == 0
    listed = run_cli("frames", "list", env=cli_home)
    assert "consilium" in listed.stdout and "workspace" in listed.stdout
    ok = run_cli("frames", "validate", env=cli_home)
    assert ok.returncode == 0 and "✓ reflect" in ok.stdout

    bad = tmp_path / "deep.yaml"
    bad.write_text("id: deep\nversion: 1.0.0\nphases:\n  - id: a\n    kind: critque\n")
    result = run_cli("frames", "validate", str(bad), env=cli_home)
    assert result.returncode == 2
    assert f"{bad}:5:5 phases[0].kind: unknown kind 'critque' — did you mean 'critique'?" in (
        result.stderr.replace("\n", "")
    )

    frames = Path(cli_home["OVERLAY_HOME"]) / "frames"
    cot = frames / "cot.yaml"
    cot.write_text(cot.read_text().replace("version: 1.0.0", "version: 1.2.0"))
    run_cli("frames", "list", env=cli_home)  # any use commits the edit
    history = run_cli("frames", "history", "cot", env=cli_home)
    assert "1.2.0" in history.stdout and "1.0.0" in history.stdout
    diff = run_cli("frames", "diff", "cot", "1.0.0", "1.2.0", env=cli_home)
    assert "+version: 1.2.0" in diff.stdout
    shown = run_cli("frames", "show", "frame://cot@1.0.0", env=cli_home)
    assert "version: 1.0.0" in shown.stdout
    back = run_cli("frames", "rollback", "cot", "1.0.0", env=cli_home)
    assert back.returncode == 0 and "restored to 1.0.0" in back.stdout
    assert "version: 1.0.0" in cot.read_text()


def test_profile_lock_then_check(cli_home: dict[str, str]) -> None:
    assert run_cli("profile", "lock", env=cli_home).returncode == 0
    clean = run_cli("profile", "check", env=cli_home)
    assert clean.returncode == 0 and "matches" in clean.stdout
    direct = Path(cli_home["OVERLAY_HOME"]) / "frames" / "direct.yaml"
    direct.write_text(direct.read_text().replace("1.0.0", "1.0.1"))
    drift = run_cli("profile", "check", env=cli_home)
    assert drift.returncode == 1
    assert "frame direct: locked 1.0.0, now 1.0.1" in drift.stdout


@pytest.mark.model
def test_run_with_cache_and_session(cli_home: dict[str, str]) -> None:
    args = ("run", "direct", "What is 2 + 2?", "--cache", "--session", "maths", "--seed", "1")
    first = run_cli(*args, env=cli_home)
    assert first.returncode == 0, first.stderr
    assert "cached answer" not in first.stderr
    again = run_cli("run", "direct", "what is 2 + 2", "--cache", "--session", "maths", env=cli_home)
    assert again.returncode == 0 and "cached answer" in again.stderr
    assert again.stdout.strip() == first.stdout.strip()
    shown = run_cli("sessions", "show", "maths", env=cli_home)
    assert "What is 2 + 2?" in shown.stdout and "what is 2 + 2" in shown.stdout
    stats = run_cli("cache", "stats", env=cli_home)
    assert "answers     1 cached" in stats.stdout
