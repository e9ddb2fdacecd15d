"""The tool seam: a named function with a JSON schema for its arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema


@dataclass(frozen=True)
class ToolResult:
    output: str
    error: bool = False


@dataclass(frozen=True)
class ToolContext:
    """Who is calling a tool: tools that write (``vault.write``) record it."""

    run_id: str = ""
    frame: str = ""
    frame_version: str = ""
    session: str | None = None


CURRENT_TOOL_CONTEXT: ContextVar[ToolContext | None] = ContextVar(
    "overlay_tool_context", default=None
)
CURRENT_SESSION: ContextVar[str | None] = ContextVar("overlay_session", default=None)
"""Set by interfaces that run frames inside a named session (chat, ``run --session``)."""


class Tool(Protocol):
    name: str
    description: str
    parameters: dict[str, Any]

    async def run(self, arguments: dict[str, Any]) -> ToolResult: ...


class ToolRegistry(Mapping[str, Tool]):
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def check_arguments(self, name: str, arguments: Any) -> str | None:
        """A readable reason the arguments do not fit the tool's schema, or ``None``."""
        try:
            jsonschema.validate(arguments, self._tools[name].parameters)
        except jsonschema.ValidationError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(arguments)"
            return f"{path}: {exc.message}"
        return None

    def describe(self, names: Iterable[str]) -> str:
        lines = []
        for name in names:
            tool = self._tools[name]
            props = tool.parameters.get("properties", {})
            args = ", ".join(
                f"{k}: {v.get('description', v.get('type', ''))}" for k, v in props.items()
            )
            lines.append(f"- {name}({args}): {tool.description}")
        return "\n".join(lines)


def default_registry(
    *,
    python_timeout_s: float = 10.0,
    python_memory_mb: int = 256,
    vault: Callable[[], Any] | None = None,
) -> ToolRegistry:
    """The built-in tools; the vault tools when a vault factory is given."""
    from overlayagi.mind.tools.calculator import Calculator
    from overlayagi.mind.tools.clock import Clock
    from overlayagi.mind.tools.sandbox import PythonSandbox

    registry = ToolRegistry(
        [
            Calculator(),
            PythonSandbox(timeout_s=python_timeout_s, memory_mb=python_memory_mb),
            Clock(),
        ]
    )
    if vault is not None:
        from overlayagi.mind.tools.vault import VaultReadTool, VaultSearchTool, VaultWriteTool

        for tool in (VaultSearchTool(vault), VaultReadTool(vault), VaultWriteTool(vault)):
            registry.register(tool)
    return registry
