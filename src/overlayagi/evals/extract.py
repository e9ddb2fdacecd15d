"""Reading the answer out of a model's text, per task."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"-?\$?\s?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_FINAL_MARKERS = (
    re.compile(r"####\s*(.+)"),
    re.compile(r"\\boxed\{([^}]*)\}"),
    re.compile(r"(?i)(?:final answer|the answer is|answer)\s*(?:is)?\s*[:=]?\s*(.+)"),
)


def normalise_number(text: str) -> str | None:
    """``"$1,234.50"`` → ``"1234.5"``, ``"18.00"`` → ``"18"``, ``"-3"`` → ``"-3"``; None if
    there is no number."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    raw = match.group().replace("$", "").replace(",", "").replace(" ", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(value.to_integral_value())
    return format(value.normalize(), "f")


def extract_number(text: str) -> str | None:
    """The final numeric answer: after ``####``, ``\\boxed{}`` or "the answer is", else the
    last number in the text."""
    for marker in _FINAL_MARKERS:
        found = marker.findall(text)
        if found:
            number = normalise_number(found[-1])
            if number is not None:
                return number
    numbers = _NUMBER.findall(text)
    return normalise_number(numbers[-1]) if numbers else None


_LETTER_PATTERNS = (
    # "Answer: B", "the answer is (C)" — the letter itself must be a capital.
    re.compile(r"(?i:answer)\s*(?:(?i:is)|:)?\s*\(?\b([ABCD])\b\)?"),
    # "B." / "(B)" / "B)" / "B" alone at the start — not "A farmer …".
    re.compile(r"^\s*\(?([ABCD])(?:[.):]|\s*$)"),
    re.compile(r"\(([ABCD])\)"),
    # A bare capital letter anywhere; "A" only when it is not the article ("A robe takes …").
    re.compile(r"\b(A(?!\s+[a-z])|[BCD])\b"),
)


def extract_choice(text: str, choices: tuple[str, ...] = ()) -> str | None:
    """A–D from "Answer: B", "(B)", "B. …", a bare letter, or the text of one option."""
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).upper()
    lowered = text.strip().casefold()
    for letter, option in zip("ABCD", choices, strict=False):
        if option and option.casefold() in lowered:
            return letter
    return None


_CODE_BLOCK = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


def extract_code(text: str) -> str:
    """The first fenced Python block, else the text itself."""
    match = _CODE_BLOCK.search(text)
    return match.group(1) if match else text
