"""Write-back: the twin's syntheses as new notes in one output folder of the vault.

A new note only — never an overwrite (the file is created with ``O_EXCL``) — and only inside
the configured folder: absolute paths, ``..`` and anything that resolves outside the folder
through a symlink are refused. The note carries front matter (created, session, frame@version,
sources) and wikilinks to the notes it cites, so it shows up linked in Obsidian's graph.
"""

from __future__ import annotations

import os
import posixpath
import re
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from overlayagi.memory.vault.db import VaultError

_BAD_CHARS = re.compile(r'[\\:*?"<>|#^\[\]\x00-\x1f]')


class WriteRefused(VaultError):
    """The note was not written; the message says why."""


def _clean_relative(name: str) -> PurePosixPath:
    name = name.strip()
    if not name:
        raise WriteRefused("the note needs a title", fix="pass a non-empty title")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or name.startswith("~"):
        raise WriteRefused(
            f"refused to write {name!r}: absolute paths are not allowed",
            fix="give a title or a path relative to the output folder",
        )
    rel = PurePosixPath(name.replace("\\", "/"))
    if any(part in ("..", ".") for part in rel.parts):
        raise WriteRefused(
            f"refused to write {name!r}: '..' would leave the output folder",
            fix="give a title or a path inside the output folder",
        )
    bad = [p for p in rel.parts if _BAD_CHARS.search(p) or p.startswith(".")]
    if bad:
        raise WriteRefused(
            f"refused to write {name!r}: {bad[0]!r} is not a valid note name in Obsidian",
            fix='avoid \\ : * ? " < > | # ^ [ ] and a leading dot',
        )
    if rel.suffix.lower() != ".md":
        rel = rel.with_name(rel.name + ".md")
    return rel


class VaultWriter:
    def __init__(self, root: Path, folder: str = "Overlay") -> None:
        self.root = root
        self.folder = folder.strip("/") or "Overlay"

    @property
    def out_dir(self) -> Path:
        return self.root / self.folder

    def target(self, name: str) -> Path:
        """The absolute path a note called ``name`` would get, or ``WriteRefused``."""
        rel = _clean_relative(name)
        base = self.out_dir
        if base.is_symlink():
            raise WriteRefused(
                f"refused to write: the output folder {base} is a symlink",
                fix="make vault.output_folder a real folder inside the vault",
            )
        path = base.joinpath(*rel.parts)
        real_base = os.path.realpath(base)
        real = os.path.realpath(path)
        if os.path.commonpath([real_base, real]) != real_base or path.is_symlink():
            raise WriteRefused(
                f"refused to write {name!r}: it resolves outside {base} (through a symlink)",
                fix="give a plain path inside the output folder",
            )
        return path

    def write(
        self,
        name: str,
        body: str,
        *,
        sources: Sequence[str] = (),
        session: str | None = None,
        frame: str | None = None,
        citations: Sequence[str] = (),
    ) -> Path:
        path = self.target(name)
        meta: dict[str, Any] = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        if session:
            meta["session"] = session
        if frame:
            meta["frame"] = frame
        meta["sources"] = list(dict.fromkeys(sources))
        meta["tags"] = ["overlay"]
        links = list(dict.fromkeys(citations)) or [
            f"[[{posixpath.splitext(s)[0]}]]" for s in dict.fromkeys(sources)
        ]
        text = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n"
        text += body.strip() + "\n"
        if links:
            text += "\n## Sources\n" + "".join(f"- {link}\n" for link in links)
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.realpath(path.parent) != os.path.realpath(path).rsplit(os.sep, 1)[0]:
            raise WriteRefused(f"refused to write {name!r}: its folder is a symlink")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError as exc:
            raise WriteRefused(
                f"refused to write {name!r}: {path.relative_to(self.root)} already exists "
                "and notes are never overwritten",
                fix="choose another title",
            ) from exc
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path
