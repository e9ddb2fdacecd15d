"""A folder kept as a git repository (dulwich, no git binary needed), committed file by file.

The frames folder and the memory snapshots both use it, so their history is plain git that
any git tool can read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from dulwich import porcelain
from dulwich.errors import NotGitRepository
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Blob, Commit
from dulwich.repo import Repo

IDENTITY = b"Overlay <overlay@localhost>"
_lock = threading.Lock()


class GitFolder:
    """A folder that is a git repository; Overlay commits the files it writes or sees change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            self.repo = Repo(str(root))
        except NotGitRepository:
            root.mkdir(parents=True, exist_ok=True)
            self.repo = porcelain.init(str(root))

    def _head(self) -> Commit | None:
        try:
            obj = self.repo[self.repo.head()]
        except KeyError:
            return None
        return obj if isinstance(obj, Commit) else None

    def _committed_blob(self, commit: Commit | None, name: str) -> bytes | None:
        if commit is None:
            return None
        try:
            _, sha = tree_lookup_path(
                self.repo.object_store.__getitem__, commit.tree, name.encode()
            )
        except KeyError:
            return None
        blob = self.repo[sha]
        return blob.data if isinstance(blob, Blob) else None

    def commit_changes(self, names: Iterable[str], message: str) -> str | None:
        """Commit the current content of ``names`` (file names in the folder) where it differs
        from HEAD; a missing file is committed as removed. Returns the commit id, if any."""
        with _lock:
            head = self._head()
            added, removed = [], []
            for name in sorted(set(names)):
                path = self.root / name
                committed = self._committed_blob(head, name)
                if path.exists():
                    if committed != path.read_bytes():
                        added.append(str(path))
                elif committed is not None:
                    removed.append(name)
            if not added and not removed:
                return None
            if added:
                porcelain.add(self.repo, paths=added)
            if removed:
                porcelain.remove(self.repo, paths=removed, cached=True)
            sha = porcelain.commit(
                self.repo, message=message.encode(), author=IDENTITY, committer=IDENTITY
            )
            return sha.decode() if isinstance(sha, bytes) else str(sha)
