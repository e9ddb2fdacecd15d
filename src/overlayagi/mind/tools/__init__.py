"""Tools a frame may allow: a registry with JSON-schema arguments, and the built-ins."""

from overlayagi.mind.tools.registry import Tool, ToolRegistry, ToolResult, default_registry

__all__ = ["Tool", "ToolRegistry", "ToolResult", "default_registry"]
