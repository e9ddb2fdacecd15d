"""Tagged output: ``<thinking>…</thinking><output>…</output>``; only ``<output>`` is shown."""

from __future__ import annotations

import re

TAG_INSTRUCTION = (
    "First think step by step inside <thinking></thinking>. "
    "Then write only the final answer inside <output></output>."
)
_SECTION = re.compile(r"<(thinking|reflection|output)>(.*?)(?:</\1>|$)", re.S | re.I)


def parse_sections(text: str) -> dict[str, str]:
    """The tagged sections; an unclosed last tag runs to the end of the text."""
    sections: dict[str, str] = {}
    for match in _SECTION.finditer(text):
        name = match.group(1).lower()
        sections[name] = (sections.get(name, "") + "\n" + match.group(2)).strip()
    return sections


def visible_text(text: str) -> str:
    """What the user sees: ``<output>``, else whatever follows the last closed tag, else all."""
    sections = parse_sections(text)
    if "output" in sections:
        return sections["output"]
    tail = re.split(r"</(?:thinking|reflection)>", text, flags=re.I)
    if len(tail) > 1 and tail[-1].strip():
        return tail[-1].strip()
    return re.sub(r"</?(thinking|reflection)>", "", text, flags=re.I).strip()


class OutputFilter:
    """Streams only the text inside ``<output>``, holding back partial tags."""

    OPEN, CLOSE = "<output>", "</output>"

    def __init__(self) -> None:
        self._buffer = ""
        self._inside = False
        self._done = False

    def feed(self, delta: str) -> str:
        if self._done:
            return ""
        self._buffer += delta
        shown = ""
        while True:
            if not self._inside:
                at = self._buffer.lower().find(self.OPEN)
                if at < 0:
                    keep = len(self.OPEN) - 1
                    self._buffer = self._buffer[-keep:] if keep else ""
                    return shown
                self._buffer = self._buffer[at + len(self.OPEN) :].lstrip("\n")
                self._inside = True
            at = self._buffer.lower().find(self.CLOSE)
            if at >= 0:
                shown += self._buffer[:at]
                self._buffer = ""
                self._done = True
                return shown
            safe = len(self._buffer) - (len(self.CLOSE) - 1)
            if safe > 0:
                shown += self._buffer[:safe]
                self._buffer = self._buffer[safe:]
            return shown

    @property
    def saw_output(self) -> bool:
        return self._inside or self._done
