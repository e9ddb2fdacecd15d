"""``overlay ingest --watch``: keep the index current as notes change (watchfiles).

Changes are debounced into batches; each batch runs the ordinary incremental ingest, which
touches only the notes whose bytes changed, so one edited note costs well under a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from overlayagi.memory.vault.files import IGNORED_DIRS, NOTE_SUFFIXES
from overlayagi.memory.vault.ingest import IngestReport
from overlayagi.memory.vault.service import Vault


class NoteFilter(DefaultFilter):
    """Only notes outside Obsidian's own and hidden folders."""

    def __init__(self) -> None:
        super().__init__(ignore_dirs=tuple(IGNORED_DIRS))

    def __call__(self, change: Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        parts = Path(path).parts
        if any(p.startswith(".") for p in parts[-4:-1]):
            return False
        return path.lower().endswith(NOTE_SUFFIXES)


def watch_vault(
    vault: Vault,
    root: Path,
    *,
    stop: threading.Event | None = None,
    debounce_ms: int = 400,
) -> Iterator[IngestReport]:
    """Yield one ingest report per batch of file changes until ``stop`` is set."""
    for _changes in watch(
        root,
        watch_filter=NoteFilter(),
        debounce=debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
    ):
        yield vault.ingest(root)
