"""Built-in tools: the safe calculator and the python sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlayagi.mind.tools import default_registry
from overlayagi.mind.tools.calculator import CalcError, evaluate, format_number
from overlayagi.mind.tools.sandbox import PythonSandbox, isolation


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", "14"),
        ("(17 * 23) + 1", "392"),
        ("2^10", "1024"),
        ("sqrt(16) / 2", "2"),
        ("7 / 2", "3.5"),
        ("-3 ** 2", "-9"),
        ("1,000 + 1".replace(",", ""), "1001"),
        ("pi * 2", "6.283185307"),
    ],
)
def test_calculator(expression: str, value: str) -> None:
    assert format_number(evaluate(expression)) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('id')",
        "open('/etc/passwd')",
        "2 ** 999999",
        "1/0",
        "x + 1",
        "[1, 2]",
        "factorial(100000)",
        "(lambda: 1)()",
    ],
)
def test_calculator_refuses(expression: str) -> None:
    with pytest.raises(CalcError):
        evaluate(expression)


async def test_registry_checks_arguments() -> None:
    tools = default_registry()
    assert tools.check_arguments("calculator", {"expression": "1+1"}) is None
    assert "expression" in (tools.check_arguments("calculator", {}) or "")
    assert (await tools["calculator"].run({"expression": "6*7"})).output == "42"
    assert "20" in (await tools["clock"].run({})).output  # the year
    assert (await tools["clock"].run({"timezone": "Mars/Olympus"})).error


@pytest.fixture(scope="module")
def sandbox() -> PythonSandbox:
    return PythonSandbox(timeout_s=3, memory_mb=256)


async def test_sandbox_runs_code_in_a_fresh_dir(sandbox: PythonSandbox) -> None:
    result = await sandbox.execute(
        "import os\nopen('f.txt','w').write('hi')\nprint(6*7, os.listdir('.'))"
    )
    assert not result.error
    assert result.output.startswith("42") and "f.txt" in result.output


@pytest.mark.parametrize(
    ("code", "expect"),
    [
        (
            "import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=2)\n"
            "print('connected')",
            "",
        ),
        ("import os\nwhile True:\n    os.fork()", "not allowed"),
        ("x = bytearray(4 * 1024**3)\nprint(len(x))", "MemoryError"),
        ("while True:\n    pass", "killed"),
        ("import time\ntime.sleep(60)", "killed"),
        ("import subprocess\nsubprocess.run(['id'])", "not allowed"),
    ],
    ids=["socket", "fork-bomb", "4GB", "cpu-loop", "sleep", "subprocess"],
)
async def test_sandbox_fails_safely(sandbox: PythonSandbox, code: str, expect: str) -> None:
    result = await sandbox.execute(code)
    assert result.error
    assert "connected" not in result.output
    assert expect in result.output


async def test_sandbox_truncates_output(sandbox: PythonSandbox) -> None:
    result = await sandbox.execute("while True:\n    print('x' * 1000)")
    assert result.output.endswith("[output truncated]")
    assert len(result.output) < 5000


def test_isolation_is_described() -> None:
    text = isolation().describe()
    assert "network namespace" in text


async def test_hostile_python_calls_fail_safely_and_the_run_continues(tmp_path: Path) -> None:
    from overlayagi.frames.library import FrameLibrary
    from overlayagi.mind.events import MemorySink, ToolCall
    from overlayagi.mind.runner import Runner
    from tests.fakes import FakeLLM

    (tmp_path / "coder.yaml").write_text(
        "id: coder\nversion: 1.0.0\ntools: [python]\nphases:\n"
        "  - id: act\n    kind: tool_loop\n    tools: [python]\n    max_iterations: 6\n"
    )
    hostile = [
        "import socket\nsocket.create_connection(('10.0.0.1', 80), timeout=1)",
        "import os\nwhile True:\n    os.fork()",
        "x = bytearray(4 * 1024**3)",
        "while True:\n    pass",
    ]
    replies = [{"thought": "try", "tool": "python", "args": {"code": c}} for c in hostile]
    replies.append({"thought": "done", "tool": "final_answer", "answer": "survived"})
    tools = default_registry(python_timeout_s=2)
    library = FrameLibrary(tmp_path, known_tools=tools, include_builtin=False)
    llm = FakeLLM(replies)
    runner = Runner(library.refresh, lambda _m, _a: llm, tools=tools)
    sink = MemorySink()
    result = await runner.run("coder", "be hostile", sink=sink)
    calls = sink.of_type(ToolCall)
    assert [c.error for c in calls] == [True, True, True, True]
    assert result.status == "ok" and result.output == "survived"
