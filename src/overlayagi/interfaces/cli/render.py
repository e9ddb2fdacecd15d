"""Terminal output shared by commands: consoles, errors, progress bars, logging."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from overlayagi.errors import OverlayError
from overlayagi.workspace import ProgressFactory, Workspace

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


@dataclass
class State:
    """Global options, set by the root callback."""

    workspace_dir: Path | None = None
    debug: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace.open(self.workspace_dir)
            if self._workspace.created:
                err.print(f"[dim]created workspace {self._workspace.root}[/]")
        return self._workspace


state = State()


def setup_logging(debug: bool, verbose: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = RichHandler(console=err, show_time=False, show_path=False, markup=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)


def print_error(exc: OverlayError) -> None:
    err.print(f"[bold red]error:[/] {exc.what}", markup=True, highlight=False)
    if exc.where:
        err.print(f"  [dim]where:[/] {exc.where}")
    if exc.fix:
        err.print(f"  [dim]fix:[/]   {exc.fix}")


@contextmanager
def progress_bars() -> Iterator[ProgressFactory]:
    """A factory of byte progress bars on stderr; nothing is drawn unless a bar is made."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
    )

    def factory(label: str, total: int) -> Callable[[int, int], None]:
        if not progress.live.is_started:
            progress.start()
        task = progress.add_task(label, total=total)

        def update(done: int, total_now: int) -> None:
            progress.update(task, completed=done, total=total_now)

        return update

    try:
        yield factory
    finally:
        if progress.live.is_started:
            progress.stop()


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return str(size)
