"""Link resolution the way Obsidian does it.

A link names a note by file name (case-insensitive, ``.md`` optional) or by a path inside the
vault. When several files share the name, the one with the shortest path wins (then the
alphabetically first), as in Obsidian's "shortest path when possible" mode. Aliases from front
matter resolve too. Anything else stays unresolved — and is kept, since Obsidian shows such
links as notes not yet created.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping


def _key(name: str) -> str:
    return name.casefold()


def _stem(path: str) -> str:
    base = posixpath.basename(path)
    return base[:-3] if base.lower().endswith(".md") else base


class LinkResolver:
    def __init__(
        self, paths: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        """``paths``: every file in the vault, relative, with ``/``; ``aliases``: per note."""
        self.paths = sorted(set(paths))
        self._by_name: dict[str, list[str]] = {}
        self._by_path: dict[str, str] = {}
        for path in self.paths:
            self._by_path[_key(path)] = path
            if path.lower().endswith(".md"):
                self._by_path[_key(path[:-3])] = path
            self._by_name.setdefault(_key(_stem(path)), []).append(path)
            self._by_name.setdefault(_key(posixpath.basename(path)), []).append(path)
        self._aliases: dict[str, str] = {}
        for path, names in (aliases or {}).items():
            for name in names:
                self._aliases.setdefault(_key(name), path)

    @staticmethod
    def _shortest(candidates: list[str]) -> str:
        return min(dict.fromkeys(candidates), key=lambda p: (p.count("/"), len(p), p))

    def resolve(self, target: str, source: str | None = None) -> str | None:
        """The vault path ``target`` points at, or ``None``. ``source`` is the linking note,
        for relative Markdown links (``../Other.md``) and links to itself (``#Heading``)."""
        target = target.strip()
        if not target:
            return source
        if source is not None and (target.startswith("./") or target.startswith("../")):
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
            return self._by_path.get(_key(joined)) or self._by_path.get(_key(joined + ".md"))
        if "/" in target:
            exact = self._by_path.get(_key(target.lstrip("/")))
            if exact:
                return exact
            suffix = _key("/" + target.lstrip("/"))
            ends = [
                p
                for p in self.paths
                if _key(p).endswith(suffix) or _key(p).endswith(suffix + ".md")
            ]
            if ends:
                return self._shortest(ends)
        named = self._by_name.get(_key(posixpath.basename(target)))
        if named:
            return self._shortest(named)
        return self._aliases.get(_key(target))
