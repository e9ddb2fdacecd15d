"""Frame errors: every problem with a file:line:col, a field path and, where one exists, a fix."""

from __future__ import annotations

from dataclasses import dataclass

from overlayagi.errors import OverlayError
from overlayagi.frames.yaml_source import Pos


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("phases", 2, "kind")`` → ``phases[2].kind``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Issue:
    pos: Pos | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.pos} " if self.pos else ""
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class FrameError(OverlayError):
    """One or more problems in frame files."""

    exit_code = 2

    def __init__(self, issues: list[Issue], *, fix: str | None = None) -> None:
        self.issues = issues
        head = str(issues[0]) if len(issues) == 1 else f"{len(issues)} problems in frames:"
        body = "" if len(issues) == 1 else "\n" + "\n".join(f"  {i}" for i in issues)
        super().__init__(
            head + body,
            fix=fix or "edit the frame at the positions shown; `overlay frames validate` rechecks",
        )


class FrameNotFoundError(OverlayError):
    exit_code = 2


class RunSetupError(OverlayError):
    """A run cannot start (unknown frame, missing memory, unsupported adapter…)."""

    exit_code = 2
