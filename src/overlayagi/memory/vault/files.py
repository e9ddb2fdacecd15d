"""Walking a vault: which files are notes, which are attachments, which are skipped and why."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Obsidian's own folders and version-control/trash folders are never notes.
IGNORED_DIRS = frozenset({".obsidian", ".git", ".trash", ".hg", ".svn", "node_modules"})
NOTE_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class VaultFile:
    path: str  # relative to the vault root, with "/"
    absolute: Path
    size: int
    mtime: float

    @property
    def is_note(self) -> bool:
        return self.path.lower().endswith(NOTE_SUFFIXES)


def rel_path(root: Path, absolute: Path) -> str:
    return absolute.relative_to(root).as_posix()


def walk(root: Path) -> Iterator[VaultFile]:
    """Every file under ``root`` except hidden and ignored folders; symlinks are not followed.

    ``os.scandir`` entries carry their type and (lstat) metadata, so a vault of 100k notes
    costs one system call per file, not three."""
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name not in IGNORED_DIRS:
                        subdirs.append((entry.path, f"{prefix}{name}/"))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue  # symlinks, sockets, devices
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield VaultFile(prefix + name, Path(entry.path), st.st_size, st.st_mtime)
        stack.extend(reversed(subdirs))


@dataclass(frozen=True)
class NoteBytes:
    text: str
    hash: str


class SkipFile(Exception):
    """Why a file is not indexed (binary, too large, not UTF-8); the ingest goes on."""


def read_note(file: VaultFile, max_bytes: int) -> NoteBytes:
    if file.size > max_bytes:
        raise SkipFile(
            f"too large ({file.size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB; "
            "raise vault.max_file_mb to index it)"
        )
    data = file.absolute.read_bytes()
    if b"\x00" in data[:8192]:
        raise SkipFile("binary content (NUL bytes) in a .md file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(
            f"not UTF-8 (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
            "re-save it as UTF-8"
        ) from exc
    return NoteBytes(text.replace("\r\n", "\n"), hashlib.sha256(data).hexdigest())


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
