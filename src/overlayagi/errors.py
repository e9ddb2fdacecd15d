"""The one error shape every layer uses: what went wrong, where, and how to fix it.

Interfaces render these without a traceback (unless ``--debug``); anything that is not an
``OverlayError`` is a bug and is shown as one.
"""

from __future__ import annotations


class OverlayError(Exception):
    """A user-facing error. ``what`` is one sentence; ``where`` and ``fix`` are optional."""

    exit_code: int = 1

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.fix = fix

    def __str__(self) -> str:
        parts = [self.what]
        if self.where:
            parts.append(f"where: {self.where}")
        if self.fix:
            parts.append(f"fix: {self.fix}")
        return "\n".join(parts)


class ConfigError(OverlayError):
    """The configuration file or environment holds a value Overlay cannot use."""

    exit_code = 2


class WorkspaceError(OverlayError):
    """The workspace folder is missing, foreign or unwritable."""

    exit_code = 2
