"""Frame validation: positioned messages, suggestions, cycles, templates; built-ins valid."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from overlayagi.frames.errors import FrameError, FrameNotFoundError
from overlayagi.frames.library import FrameLibrary
from overlayagi.mind.tools import default_registry


def library(tmp_path: Path, **files: str) -> FrameLibrary:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return FrameLibrary(tmp_path, known_tools=default_registry(), include_builtin=False)


def messages(lib: FrameLibrary, frame_id: str) -> list[str]:
    return [str(i) for i in lib.refresh().errors[frame_id]]


def test_every_builtin_frame_is_valid() -> None:
    frames = FrameLibrary(None, known_tools=default_registry()).refresh()
    assert frames.errors == {}
    assert {
        "direct",
        "cot",
        "self_ask",
        "react",
        "reflect",
        "self_consistency",
        "consilium",
        "tot",
        "plan_solve",
        "chain_of_agents",
        "router",
        "summarize",
    } <= set(frames)


def test_unknown_kind_points_at_file_line_column_with_a_suggestion(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        deep="""
        id: deep
        version: 1.0.0
        phases:
          - id: draft
            kind: generate
          - id: second
            kind: generate
          - id: check
            kind: critque
        """,
    )
    (msg,) = messages(lib, "deep")
    assert msg == (
        f"{tmp_path / 'deep.yaml'}:9:5 phases[2].kind: unknown kind 'critque' — "
        "did you mean 'critique'?"
    )


def test_unknown_field_missing_field_and_bad_version(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        f="""
        id: f
        version: 1.0
        phases:
          - id: a
            kind: generate
            promt: hi
          - kind: generate
        """,
    )
    found = messages(lib, "f")
    assert any(":2:1 version: '1.0' is not a semantic version" in m for m in found)
    assert any(
        ":6:5 phases[0].promt: unknown field 'promt' — did you mean 'prompt'?" in m for m in found
    )
    assert any(":7:5 phases[1].id: missing required field 'id'" in m for m in found)


def test_transitions_roles_and_sources_are_checked(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        f="""
        id: f
        version: 1.0.0
        roles:
          critic: {system: be strict}
        phases:
          - id: draft
            kind: generate
            next: reviw
          - id: review
            kind: critique
            role: critik
            when:
              - if: outputs.review.data.verdict == 'approve'
                goto: ned
          - id: pick
            kind: vote
            source: drafts
        """,
    )
    found = "\n".join(messages(lib, "f"))
    assert (
        ":8:5 phases[0].next: transition to missing phase 'reviw' — did you mean 'review'?" in found
    )
    assert "phases[1].role: unknown role 'critik' — did you mean 'critic'?" in found
    assert (
        "phases[1].when[0].goto: transition to missing phase 'ned' — did you mean 'end'?" in found
    )
    assert "phases[2].source: unknown source phase 'drafts' — did you mean 'draft'?" in found


def test_template_errors_give_the_template_line(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        f="""
        id: f
        version: 1.0.0
        phases:
          - id: draft
            kind: generate
            prompt: |
              Question: {{ input }}
              Earlier: {{ outputs.drfat.text }}
              {{ nonsense }}
          - id: broken
            kind: generate
            prompt: "{{ input "
        """,
    )
    found = messages(lib, "f")
    path = tmp_path / "f.yaml"
    assert (
        f"{path}:8:1 phases[0].prompt: 'outputs.drfat' names no phase of this frame"
        " — did you mean 'draft'?" in found
    )
    assert f"{path}:9:1 phases[0].prompt: unknown template variable 'nonsense'" in found
    assert any(m.startswith(f"{path}:12:") and "template syntax error" in m for m in found)


def test_extends_merges_and_cycles_are_caught(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        base="""
        id: base
        version: 1.0.0
        persona: You are careful.
        budgets: {max_llm_calls: 3}
        phases:
          - id: answer
            kind: generate
        """,
        child="""
        id: child
        version: 2.0.0
        extends: base
        budgets: {max_steps: 5}
        phases:
          - id: answer
            output: tagged
        """,
        a="""
        id: a
        version: 1.0.0
        extends: b
        """,
        b="""
        id: b
        version: 1.0.0
        extends: a
        """,
    )
    frames = lib.refresh()
    child = frames["child"].frame
    assert child.persona == "You are careful."
    assert child.budgets.max_llm_calls == 3 and child.budgets.max_steps == 5
    assert child.phases[0].kind == "generate" and child.phases[0].form == "tagged"
    assert "extends cycle: a → b → a" in messages(lib, "a")[0]


def test_call_cycles_need_a_depth_budget(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        ping="""
        id: ping
        version: 1.0.0
        phases:
          - id: go
            kind: call
            frame: pong
        """,
        pong="""
        id: pong
        version: 1.0.0
        budgets: {max_depth: 3}
        phases:
          - id: go
            kind: call
            frame: ping
        """,
    )
    frames = lib.refresh()
    assert "pong" in frames
    (msg,) = messages(lib, "ping")
    assert "re-enter itself through call (ping → pong → ping)" in msg
    assert "budgets.max_depth" in msg


def test_unknown_tools_and_tools_outside_the_allowlist(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        f="""
        id: f
        version: 1.0.0
        tools: [calculater]
        phases:
          - id: act
            kind: tool_loop
            tools: [python]
        """,
    )
    found = "\n".join(messages(lib, "f"))
    assert "unknown tool 'calculater' — did you mean 'calculator'?" in found
    assert "tool 'python' is not in the frame's `tools` allowlist" in found


def test_yaml_syntax_and_unknown_frames(tmp_path: Path) -> None:
    lib = library(tmp_path, f="id: f\nversion: [1\n")
    assert "invalid YAML" in messages(lib, "f")[0]
    with pytest.raises(FrameError):
        lib.get("f")
    with pytest.raises(FrameNotFoundError, match="did you mean 'f'"):
        lib.get("ff")


def test_validate_given_files_against_the_library(tmp_path: Path) -> None:
    lib = library(tmp_path)
    good = tmp_path / "elsewhere" / "mine.yaml"
    good.parent.mkdir()
    good.write_text("id: mine\nversion: 0.1.0\nextends: cot\n")
    bad = tmp_path / "elsewhere" / "other.yaml"
    bad.write_text("id: wrong\nversion: 0.1.0\nphases: [{id: a, kind: generate}]\n")
    full = FrameLibrary(tmp_path, known_tools=default_registry())
    results = full.validate([good, bad])
    assert results[good] == []
    assert "does not match the file name" in str(results[bad][0])
    assert (
        lib.validate([tmp_path / "missing.yaml"])[tmp_path / "missing.yaml"][0].message
        == "no such file"
    )


def test_control_characters_are_a_positioned_error(tmp_path: Path) -> None:
    from overlayagi.frames.yaml_source import YamlSyntaxError, load_yaml

    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("id: x\nversion: 1.0.0\ndescription: a\x1fb\n", tmp_path / "x.yaml")
    assert info.value.pos is not None and (info.value.pos.line, info.value.pos.col) == (3, 15)
    assert "0x1f" in info.value.message


def test_options_and_stem_filters_read_a_multiple_choice_question() -> None:
    from overlayagi.frames.templates import options, stem

    text = (
        "Which planet is largest?\nB. a stray line that is not an option\n"
        "A. Mars\n(B) Jupiter\nC) Venus\nD: Earth\n\nAnswer with the letter."
    )
    assert options(text) == ["Mars", "Jupiter", "Venus", "Earth"]
    assert stem(text) == "Which planet is largest?\nB. a stray line that is not an option"
    assert options("no options here") == [] and stem(" plain ") == "plain"


def test_select_frame_without_options_says_what_the_input_needs(tmp_path: Path) -> None:
    import asyncio

    from overlayagi.frames.library import FrameLibrary
    from overlayagi.mind.runner import Runner
    from tests.fakes import FakeLLM

    library = FrameLibrary(None, known_tools=default_registry())
    llm = FakeLLM()
    runner = Runner(library.refresh, lambda _m, _a: llm)
    result = asyncio.run(runner.run("select", "What is 2 + 2?"))
    assert result.status == "error" and llm.calls == []
    assert "lettered options" in result.reason
