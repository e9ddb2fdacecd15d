"""A markdown-it parser that understands Obsidian: wikilinks, embeds and tags as inline rules.

CommonMark plus front matter and footnotes (mdit-py-plugins), and three inline rules of our
own: ``![[embed]]``, ``[[wikilink]]`` (with ``#heading``, ``#^block`` and ``|alias``) and
``#nested/tags``. Because they are inline rules, nothing inside code spans or fenced code
becomes a link or a tag — the backtick and fence rules consume that text first.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

_WIKILINK = re.compile(r"(!?)\[\[([^\[\]\n]+?)\]\]")
_TAG = re.compile(r"#([^\s#!\"$%&'()*+,.:;<=>?@\[\\\]^`{|}~]+)")


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    char = state.src[start]
    if char not in "[!":
        return False
    match = _WIKILINK.match(state.src, start)
    if match is None:
        return False
    if not silent:
        token = state.push("wikilink", "", 0)
        token.content = match.group(2)
        token.meta = {"embed": match.group(1) == "!"}
    state.pos = match.end()
    return True


def _tag_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if state.src[start] != "#":
        return False
    if start > 0 and not state.src[start - 1].isspace() and state.src[start - 1] not in "([":
        return False
    match = _TAG.match(state.src, start)
    if match is None or match.group(1).replace("/", "").isdigit():
        return False  # "#1" is a number, not a tag (Obsidian agrees)
    if not silent:
        token = state.push("tag", "", 0)
        token.content = match.group(1).rstrip("/")
    state.pos = match.end()
    return True


def build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).use(front_matter_plugin).use(footnote_plugin)
    md.enable(["table", "strikethrough"])
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.inline.ruler.before("link", "tag", _tag_rule)
    return md
