"""Prompt templates: Jinja2 in a sandbox, and what a template may see.

Every phase template sees the ``COMMON`` names; some kinds add their own (``KIND_EXTRAS``).
``outputs.<phase>`` is the latest output of a phase (``text``, ``data``, ``samples``,
``sections``); ``visits.<phase>`` lists every output of a phase that ran more than once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from overlayagi.frames.spec import PhaseKind

COMMON: dict[str, str] = {
    "input": "the run's input",
    "goal": "the goal, if one was given (else the input)",
    "persona": "the frame's persona",
    "outputs": "latest output of each phase that ran: outputs.<phase>.text/.data/.samples",
    "visits": "every output of each phase, oldest first: visits.<phase>[i]",
    "answer": "the latest answer-bearing output so far",
    "feedback": "the latest critique's feedback",
    "state": "the reasoning path built by collapse phases so far",
    "iteration": "how many times this phase has run, counting this time (1-based)",
    "roles": "the frame's roles by name",
    "memory": "hits from the latest retrieve phase",
}

KIND_EXTRAS: dict[PhaseKind, dict[str, str]] = {
    PhaseKind.SELECT: {"candidates": "the candidates, lettered"},
    PhaseKind.COLLAPSE: {"candidates": "the candidates, lettered"},
    PhaseKind.TOOL_LOOP: {"tools": "the offered tools and their arguments"},
    PhaseKind.SUMMARIZE: {
        "chunk": "the current part of the text",
        "chunk_index": "its number, 1-based",
        "chunk_count": "how many parts",
        "summary": "the notes so far",
    },
    PhaseKind.SELF_ASK: {"max_questions": "how many sub-questions to ask at most"},
}

CONDITION_NAMES = {"outputs", "visits", "answer", "iteration", "input", "goal", "state"}


def allowed_names(kind: PhaseKind | None) -> set[str]:
    names = set(COMMON)
    if kind is not None:
        names |= set(KIND_EXTRAS.get(kind, {}))
    return names


# An option line of a multiple-choice question: "A. text", "B) text", "(C) text", "D: text".
_OPTION = re.compile(r"^\s*\(?([A-Z])[.):]\s+(.+?)\s*$")


def _option_lines(text: str) -> list[tuple[int, str]]:
    """(line number, option text) of the lettered options A, B, C… in order; the first run of
    consecutive letters starting at A wins, so a stray "B. …" in the question is ignored."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(str(text).splitlines()):
        match = _OPTION.match(line)
        if match is None:
            continue
        expected = chr(ord("A") + len(found))
        if match.group(1) == expected:
            found.append((number, match.group(2)))
        elif match.group(1) == "A":
            found = [(number, match.group(2))]
    return found


def options(text: str) -> list[str]:
    """The lettered options listed in ``text`` (``A. …`` on its own line, then ``B. …``…)."""
    return [option for _, option in _option_lines(text)]


def stem(text: str) -> str:
    """``text`` without its option lines and what follows them: the question itself."""
    found = _option_lines(text)
    if not found:
        return str(text).strip()
    return "\n".join(str(text).splitlines()[: found[0][0]]).strip()


_env = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
_env.filters["truncate_words"] = lambda text, n=200: " ".join(str(text).split()[:n])
_env.filters["options"] = options
_env.filters["stem"] = stem


class TemplateProblem(Exception):
    """A template that does not compile or names something it cannot see."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def check_template(
    source: str, allowed: set[str], phase_ids: set[str], *, expression: bool = False
) -> list[TemplateProblem]:
    """Problems in ``source`` found without rendering it: syntax, unknown names, and
    ``outputs.X`` / ``visits.X`` naming a phase that does not exist."""
    text = "{{ " + source + " }}" if expression else source
    try:
        tree = _env.parse(text)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(f"template syntax error: {exc.message}", exc.lineno)]
    problems: list[TemplateProblem] = []
    for name in sorted(meta.find_undeclared_variables(tree) - allowed):
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), None)
        problems.append(
            TemplateProblem(f"unknown template variable '{name}'" + _hint(name, allowed), line)
        )
    for node in tree.find_all(nodes.Getattr):
        base = node.node.name if isinstance(node.node, nodes.Name) else None
        if base in ("outputs", "visits") and node.attr not in phase_ids:
            problems.append(
                TemplateProblem(
                    f"'{base}.{node.attr}' names no phase of this frame"
                    + _hint(node.attr, phase_ids),
                    node.lineno,
                )
            )
    return problems


def _hint(name: str, choices: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def render(source: str, context: Mapping[str, Any]) -> str:
    return _env.from_string(source).render(**context).strip()


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    return _env.compile_expression(expression)(**context)
