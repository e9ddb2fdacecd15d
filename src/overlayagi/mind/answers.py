"""Reading a short answer out of a sample, for ``vote``."""

from __future__ import annotations

import re
from typing import Any

from overlayagi.frames.spec import Extract
from overlayagi.mind.tags import visible_text

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_LETTER = re.compile(r"\b([A-J])\b")


def normalise(value: str) -> str:
    text = value.strip().strip(".").strip()
    number = text.replace("$", "").replace(",", "")
    try:
        as_float = float(number)
    except ValueError:
        return " ".join(text.lower().split())
    return str(int(as_float)) if as_float.is_integer() else repr(as_float)


def last_number(text: str) -> str | None:
    matches = _NUMBER.findall(text)
    return normalise(matches[-1]) if matches else None


def json_path(data: Any, path: str) -> Any:
    """``a.b[0].c`` on parsed JSON; ``None`` where the path does not exist."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.lstrip("$.")):
        if part.startswith("["):
            idx = int(part[1:-1])
            data = data[idx] if isinstance(data, list) and idx < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
        if data is None:
            return None
    return data


def extract(rule: Extract | None, text: str, parsed: Any = None) -> str | None:
    """The normalised answer in ``text`` under ``rule`` (default: the visible output)."""
    if rule is None or rule.builtin == "output":
        shown = visible_text(text)
        return normalise(shown) if shown else None
    if rule.regex is not None:
        matches = list(re.finditer(rule.regex, text, re.S))
        if not matches:
            return None
        last = matches[-1]
        return normalise(last.group(1) if last.groups() else last.group(0))
    if rule.json_path is not None:
        value = json_path(parsed, rule.json_path)
        return None if value is None else normalise(str(value))
    shown = visible_text(text)
    if rule.builtin == "number":
        return last_number(shown) or last_number(text)
    if rule.builtin == "letter":
        found = _LETTER.findall(shown) or _LETTER.findall(text)
        return found[-1] if found else None
    lines = [line for line in shown.splitlines() if line.strip()]
    return normalise(lines[-1]) if lines else None
