"""``vault.search``, ``vault.read`` and ``vault.write``: the user's notes as tools.

They run only in frames that list them (the runner refuses any other call). ``vault.write``
creates a new note in the configured output folder and never overwrites one; see
``overlayagi.memory.vault.write`` for the path rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from overlayagi.errors import OverlayError
from overlayagi.memory.vault.service import Vault
from overlayagi.mind.tools.registry import CURRENT_TOOL_CONTEXT, ToolContext, ToolResult

VaultFactory = Callable[[], Vault]


class VaultSearchTool:
    name = "vault.search"
    description = "search the user's notes; returns the best notes with [[citations]] and snippets"
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for", "maxLength": 300},
            "k": {"type": "integer", "minimum": 1, "maximum": 10, "description": "hits (5)"},
        },
        "required": ["query"],
        "additionalProperties": False,
    }

    def __init__(self, vault: VaultFactory) -> None:
        self._vault = vault

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            result = self._vault().search(arguments["query"], k=int(arguments.get("k", 5)))
        except OverlayError as exc:
            return ToolResult(f"error: {exc.what}", error=True)
        if not result.found:
            head = "The vault has no note that clearly answers this. Closest notes:"
        else:
            head = f"{len(result.hits)} notes:"
        lines = [head]
        for i, hit in enumerate(result.hits, 1):
            lines.append(f"[{i}] {hit.citation} ({hit.path})\n{hit.snippet}")
        return ToolResult("\n".join(lines))


class VaultReadTool:
    name = "vault.read"
    description = "read a note (or one heading of it) by path, title or [[link]]"
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "note": {"type": "string", "description": "path, title or [[Note#Heading]]"},
            "heading": {"type": "string", "description": "optional heading to read"},
        },
        "required": ["note"],
        "additionalProperties": False,
    }

    def __init__(self, vault: VaultFactory, max_chars: int = 4000) -> None:
        self._vault = vault
        self.max_chars = max_chars

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            note = self._vault().read(arguments["note"], arguments.get("heading"))
        except OverlayError as exc:
            return ToolResult(f"error: {exc.what}", error=True)
        text = note.text
        if len(text) > self.max_chars:
            text = text[: self.max_chars] + "\n… (truncated)"
        links = ", ".join(note.links[:10]) or "none"
        return ToolResult(f"{note.path}\n\n{text}\n\nLinks to: {links}")


class VaultWriteTool:
    name = "vault.write"
    description = (
        "create a NEW note in the vault's output folder (never overwrites) citing source notes"
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "note title", "maxLength": 120},
            "body": {"type": "string", "description": "Markdown body", "maxLength": 20000},
            "sources": {
                "type": "array",
                "items": {"type": "string"},
                "maxItems": 20,
                "description": "paths or titles of the notes it draws on",
            },
        },
        "required": ["title", "body"],
        "additionalProperties": False,
    }

    def __init__(self, vault: VaultFactory) -> None:
        self._vault = vault

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        ctx = CURRENT_TOOL_CONTEXT.get() or ToolContext()
        try:
            vault = self._vault()
            sources: list[str] = []
            citations: list[str] = []
            for name in arguments.get("sources", []):
                path = vault.resolve(name)
                if path is None:
                    return ToolResult(f"error: no note named {name!r} to cite", error=True)
                sources.append(path)
                citations.append(vault.searcher().citation(path, []))
            written = vault.writer().write(
                arguments["title"],
                arguments["body"],
                sources=sources,
                citations=citations,
                session=ctx.session,
                frame=f"{ctx.frame}@{ctx.frame_version}" if ctx.frame else None,
            )
        except OverlayError as exc:
            return ToolResult(f"error: {exc.what}", error=True)
        rel = written.relative_to(vault.require_root()).as_posix()
        return ToolResult(json.dumps({"written": rel, "sources": sources}, ensure_ascii=False))
