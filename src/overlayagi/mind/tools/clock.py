"""``clock``: the current date and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from overlayagi.mind.tools.registry import ToolResult


class Clock:
    name = "clock"
    description = "the current date, time and weekday (optionally in an IANA time zone)"
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "e.g. Europe/Moscow"}},
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        zone_name = arguments.get("timezone")
        try:
            zone = ZoneInfo(zone_name) if zone_name else None
        except (ZoneInfoNotFoundError, ValueError):
            return ToolResult(f"unknown time zone '{zone_name}'", error=True)
        now = datetime.now(zone).astimezone(zone)
        return ToolResult(now.strftime("%Y-%m-%d %H:%M:%S %Z (%A)").strip())
