"""One Obsidian note → its structure: front matter, heading tree, links, tags, callouts,
footnotes, and plain text per section (comments stripped, code kept as text, never as links).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from overlayagi.memory.vault.markdown import build_parser

_OBSIDIAN_COMMENT = re.compile(r"%%.*?%%", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CALLOUT = re.compile(r"^\[!([\w-]+)\]([+-]?)[ \t]*(.*)")


@dataclass(frozen=True)
class Link:
    target: str  # note name or path as written ("" for a link to a heading in this note)
    heading: str | None = None
    block: str | None = None
    alias: str | None = None
    embed: bool = False
    markdown: bool = False  # [text](Note.md) rather than [[Note]]
    line: int = 0


@dataclass(frozen=True)
class Callout:
    type: str
    title: str
    line: int


@dataclass
class Section:
    heading: str  # "" for text before the first heading
    level: int
    path: list[str]  # the heading breadcrumb, outermost first
    line: int
    text: str = ""


@dataclass
class ParsedNote:
    title: str
    frontmatter: dict[str, Any] = field(default_factory=dict)
    frontmatter_error: str | None = None
    aliases: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    callouts: list[Callout] = field(default_factory=list)
    footnotes: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections if s.text)


@cache
def _parser() -> MarkdownIt:
    return build_parser()


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[,\n]", value) if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


def parse_wikilink(content: str, *, embed: bool, line: int) -> Link:
    """``Note#Heading|alias``, ``Note#^block``, ``#Heading`` (this note)."""
    target, _, alias = content.partition("|")
    target, _, anchor = target.partition("#")
    heading = block = None
    if anchor.startswith("^"):
        block = anchor[1:].strip() or None
    elif anchor:
        heading = anchor.strip() or None
    return Link(target.strip(), heading, block, alias.strip() or None, embed, False, line)


def _markdown_link(href: str, line: int) -> Link | None:
    """A Markdown link to a note or file in the vault; ``None`` for web links and anchors."""
    parsed = urlparse(href)
    if parsed.scheme or parsed.netloc or not parsed.path:
        return None
    path = unquote(parsed.path)
    heading = unquote(parsed.fragment) or None
    return Link(path, heading, None, None, False, True, line)


class _Builder:
    def __init__(self, title: str) -> None:
        self.note = ParsedNote(title=title)
        self.stack: list[tuple[int, str]] = []
        self.current = Section("", 0, [], 1)
        self.note.sections.append(self.current)

    def heading(self, level: int, text: str, line: int) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))
        self.current = Section(text, level, [h for _, h in self.stack], line)
        self.note.sections.append(self.current)

    def add_text(self, text: str) -> None:
        text = text.strip()
        if text:
            self.current.text = f"{self.current.text}\n{text}".strip()


def _inline_text(token: Token, builder: _Builder, line: int) -> str:
    """Plain text of an inline token; records its links and tags on the way."""
    parts: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "wikilink":
            link = parse_wikilink(child.content, embed=child.meta["embed"], line=line)
            builder.note.links.append(link)
            shown = link.alias or link.heading or link.target
            if shown and not link.embed:
                parts.append(shown)
        elif kind == "tag":
            builder.note.tags.append(child.content)
            parts.append("#" + child.content)
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
            found = _markdown_link(href, line)
            if found is not None:
                builder.note.links.append(found)
        elif kind == "image":
            href = str(child.attrs.get("src", ""))
            found = _markdown_link(href, line)
            if found is not None:
                builder.note.links.append(
                    Link(found.target, found.heading, None, None, True, True, line)
                )
    return "".join(parts)


def _frontmatter(builder: _Builder, raw: str) -> None:
    note = builder.note
    try:
        data = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        note.frontmatter_error = f"invalid YAML front matter{where}: {getattr(exc, 'problem', exc)}"
        return
    if not isinstance(data, dict):
        note.frontmatter_error = "front matter is not a mapping of keys to values"
        return
    note.frontmatter = data
    if isinstance(data.get("title"), str) and data["title"].strip():
        note.title = data["title"].strip()
    note.aliases = _listify(data.get("aliases", data.get("alias")))
    note.tags.extend(t.lstrip("#") for t in _listify(data.get("tags", data.get("tag"))))


def parse_note(text: str, title: str) -> ParsedNote:
    """Parse a note's Markdown. Never raises on content: problems are recorded on the note."""
    text = _OBSIDIAN_COMMENT.sub("", text)
    builder = _Builder(title)
    tokens = _parser().parse(text)
    if text.startswith("---\n") and not any(t.type == "front_matter" for t in tokens):
        builder.note.frontmatter_error = "front matter is not closed with a line of ---"
    pending_heading: int | None = None
    in_footnote: str | None = None
    quote_depth = 0
    expect_callout = False
    for token in tokens:
        line = (token.map[0] + 1) if token.map else 0
        kind = token.type
        if kind == "front_matter":
            _frontmatter(builder, token.content)
        elif kind == "heading_open":
            pending_heading = int(token.tag[1])
        elif kind == "blockquote_open":
            quote_depth += 1
            expect_callout = True
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "footnote_open":
            in_footnote = str(token.meta.get("label", token.meta.get("id", "")))
        elif kind == "footnote_close":
            in_footnote = None
        elif kind == "inline":
            content = _inline_text(token, builder, line)
            if pending_heading is not None:
                builder.heading(pending_heading, content.strip(), line)
                pending_heading = None
                continue
            if expect_callout:
                expect_callout = False
                match = _CALLOUT.match(token.content)
                if match:
                    builder.note.callouts.append(
                        Callout(match.group(1).lower(), match.group(3).strip(), line)
                    )
                    content = _CALLOUT.sub(r"\3", content, count=1)
            if in_footnote is not None:
                builder.note.footnotes[in_footnote] = content.strip()
            builder.add_text(content)
        elif kind in ("fence", "code_block"):
            builder.add_text(token.content)  # searchable text, but never links or tags
        elif kind == "html_block":
            builder.add_text(re.sub(r"<[^>]+>", " ", _HTML_COMMENT.sub("", token.content)))
    note = builder.note
    note.tags = list(dict.fromkeys(note.tags))
    note.sections = [s for s in note.sections if s.text or s.heading]
    return note
