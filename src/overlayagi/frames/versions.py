"""The workspace's ``frames/`` folder as a git repository (dulwich, no git binary needed).

Every change Overlay sees in a frame file is committed, so ``frame://ID@VERSION`` always
resolves to exact content from history. Rolling back writes the old content as a new commit;
history is never rewritten.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from datetime import UTC, datetime

import yaml

from overlayagi.errors import OverlayError
from overlayagi.frames.errors import FrameNotFoundError
from overlayagi.gitfolder import GitFolder


@dataclass(frozen=True)
class FrameVersion:
    commit: str
    time: datetime
    message: str
    version: str | None
    content: bytes


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``frame://cot@1.2.0`` / ``cot@1.2.0`` / ``cot`` → ``("cot", "1.2.0" | None)``."""
    body = ref.removeprefix("frame://")
    frame_id, _, version = body.partition("@")
    return frame_id, (version or None)


def _version_of(content: bytes) -> str | None:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError:
        return None
    return str(data.get("version")) if isinstance(data, dict) and "version" in data else None


class FrameRepo(GitFolder):
    """The frames folder's history, read frame by frame."""

    def history(self, frame_id: str) -> list[FrameVersion]:
        """Every committed state of ``<frame_id>.yaml``, newest first."""
        name = f"{frame_id}.yaml"
        if self._head() is None:
            return []
        found: list[FrameVersion] = []
        for entry in self.repo.get_walker(paths=[name.encode()]):
            commit = entry.commit
            content = self._committed_blob(commit, name)
            if content is None:
                continue  # the commit that removed it
            found.append(
                FrameVersion(
                    commit=commit.id.decode(),
                    time=datetime.fromtimestamp(commit.commit_time, UTC),
                    message=commit.message.decode(errors="replace").strip(),
                    version=_version_of(content),
                    content=content,
                )
            )
        return found

    def read(self, frame_id: str, version: str) -> FrameVersion:
        """The newest committed content of ``frame_id`` whose ``version`` field is ``version``."""
        history = self.history(frame_id)
        for item in history:
            if item.version == version:
                return item
        if not history:
            raise FrameNotFoundError(
                f"frame '{frame_id}' has no history in {self.root}",
                fix="check the id with `overlay frames list`",
            )
        known = ", ".join(dict.fromkeys(v.version or "?" for v in history))
        raise FrameNotFoundError(
            f"frame '{frame_id}' was never committed at version {version}",
            fix=f"known versions: {known} (`overlay frames history {frame_id}`)",
        )

    def diff(self, frame_id: str, v1: str, v2: str) -> str:
        a, b = self.read(frame_id, v1), self.read(frame_id, v2)
        return "".join(
            difflib.unified_diff(
                a.content.decode(errors="replace").splitlines(keepends=True),
                b.content.decode(errors="replace").splitlines(keepends=True),
                fromfile=f"{frame_id}@{v1} ({a.commit[:8]})",
                tofile=f"{frame_id}@{v2} ({b.commit[:8]})",
            )
        )

    def rollback(self, frame_id: str, version: str) -> str:
        """Write ``version``'s content back and commit it; returns the new commit id."""
        old = self.read(frame_id, version)
        path = self.root / f"{frame_id}.yaml"
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_bytes(old.content)
        os.replace(tmp, path)
        sha = self.commit_changes([path.name], f"rollback {frame_id} to {version}")
        if sha is None:
            raise OverlayError(
                f"{frame_id} is already at the content of version {version}",
                fix=f"see `overlay frames history {frame_id}`",
            )
        return sha
