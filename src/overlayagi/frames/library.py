"""The frames a workspace can run: discovery, validation, hot reload, snapshots.

Frames come from the workspace's ``frames/`` folder, then from the built-ins shipped in the
package (a workspace file with the same id wins). ``refresh`` re-reads only when a file's
stat changed, so calling it before every run is cheap: that is the hot reload. A run takes a
``FrameSet`` snapshot and keeps it, so an edit never changes a run in progress.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from overlayagi.frames import loader
from overlayagi.frames.errors import FrameError, FrameNotFoundError, Issue
from overlayagi.frames.spec import Frame
from overlayagi.frames.versions import FrameRepo, parse_ref
from overlayagi.frames.yaml_source import Pos, PosDict, position_of


def builtin_dir() -> Path:
    return Path(str(resources.files("overlayagi.frames") / "builtin"))


@dataclass(frozen=True)
class FrameFile:
    frame_id: str
    path: Path
    text: str
    source: str  # "workspace", "builtin" or "given"


@dataclass(frozen=True)
class LoadedFrame:
    frame: Frame
    path: Path
    source: str
    text: str
    sha256: str = field(repr=False)

    @property
    def ref(self) -> str:
        return self.frame.ref


def content_hash(frame: Frame) -> str:
    """sha256 of the resolved frame (``extends`` applied), canonical JSON."""
    canonical = json.dumps(
        frame.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class FrameSet(Mapping[str, LoadedFrame]):
    """An immutable snapshot of valid frames, plus the problems of the invalid ones."""

    def __init__(self, frames: dict[str, LoadedFrame], errors: dict[str, list[Issue]]) -> None:
        self._frames = frames
        self.errors = errors

    def __getitem__(self, frame_id: str) -> LoadedFrame:
        return self._frames[frame_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def get_frame(self, frame_id: str) -> LoadedFrame:
        if frame_id in self._frames:
            return self._frames[frame_id]
        if frame_id in self.errors:
            raise FrameError(self.errors[frame_id])
        known = sorted({*self._frames, *self.errors})
        raise FrameNotFoundError(
            f"unknown frame '{frame_id}'" + loader.hint(frame_id, set(known)),
            fix=f"frames here: {', '.join(known)} (`overlay frames list`)",
        )


def build_set(files: Sequence[FrameFile], known_tools: Mapping[str, Any]) -> FrameSet:
    """Parse, merge ``extends``, validate every file, then check ``call`` recursion."""
    raw: dict[str, PosDict] = {}
    errors: dict[str, list[Issue]] = {}
    by_id = {f.frame_id: f for f in files}
    for f in files:
        data, issues = loader.parse_text(f.text, str(f.path))
        if data is None:
            errors[f.frame_id] = issues
        else:
            raw[f.frame_id] = data

    merged: dict[str, PosDict] = {}

    def resolve(fid: str, chain: list[str]) -> PosDict | None:
        if fid in merged:
            return merged[fid]
        if fid in errors:
            return None
        data = raw.get(fid)
        if data is None:
            return None
        parent_id = data.get("extends")
        if parent_id is None:
            merged[fid] = data
            return data
        where = position_of(data, ("extends",))
        if not isinstance(parent_id, str):
            errors[fid] = [Issue(where, "extends", "extends must be a frame id")]
            return None
        if parent_id in chain:
            members = chain[chain.index(parent_id) :]
            for i, member in enumerate(members):
                cycle = " → ".join([*members[i:], *members[:i], member])
                at = position_of(raw[member], ("extends",))
                errors[member] = [Issue(at, "extends", f"extends cycle: {cycle}")]
            return None
        if parent_id not in by_id:
            message = f"extends unknown frame '{parent_id}'" + loader.hint(parent_id, set(by_id))
            errors[fid] = [Issue(where, "extends", message)]
            return None
        parent = resolve(parent_id, [*chain, parent_id])
        if parent is None:
            errors.setdefault(
                fid, [Issue(where, "extends", f"extends '{parent_id}', which is invalid")]
            )
            return None
        merged[fid] = loader.merge(parent, data)
        return merged[fid]

    built: dict[str, tuple[Frame, PosDict]] = {}
    for fid in raw:
        data = resolve(fid, [fid])
        if data is None:
            continue
        frame, issues = loader.build(data)
        if frame is not None and frame.id != fid:
            pos = position_of(raw[fid], ("id",))
            issues.append(
                Issue(pos, "id", f"id '{frame.id}' does not match the file name '{fid}.yaml'")
            )
        if frame is None or issues:
            errors[fid] = issues
            continue
        built[fid] = (frame, data)
    known = set(by_id)
    for fid, (frame, data) in list(built.items()):
        issues = loader.check(frame, data, known_frames=known, known_tools=known_tools)
        if issues:
            errors[fid] = issues
            del built[fid]
    for fid, issues in loader.recursion_issues(built).items():
        errors[fid] = issues
        del built[fid]
    frames = {
        fid: LoadedFrame(
            frame, by_id[fid].path, by_id[fid].source, by_id[fid].text, content_hash(frame)
        )
        for fid, (frame, _) in built.items()
    }
    return FrameSet(frames, errors)


def _read(path: Path, source: str) -> FrameFile | Issue:
    try:
        return FrameFile(path.stem, path, path.read_text(encoding="utf-8"), source)
    except UnicodeDecodeError:
        return Issue(Pos(str(path), 1, 1), "", "not UTF-8 text")
    except OSError as exc:
        return Issue(Pos(str(path), 1, 1), "", f"cannot read: {exc.strerror}")


class FrameLibrary:
    def __init__(
        self,
        workspace_dir: Path | None,
        *,
        known_tools: Mapping[str, Any],
        repo: FrameRepo | None = None,
        include_builtin: bool = True,
    ) -> None:
        self.dirs: list[tuple[Path, str]] = []
        if workspace_dir is not None:
            self.dirs.append((workspace_dir, "workspace"))
        if include_builtin:
            self.dirs.append((builtin_dir(), "builtin"))
        self.known_tools = known_tools
        self.repo = repo
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] | None = None
        self._stats: dict[Path, tuple[int, int, int]] = {}
        self._snapshot = FrameSet({}, {})

    def _discover(self) -> dict[str, tuple[Path, str]]:
        found: dict[str, tuple[Path, str]] = {}
        for folder, source in self.dirs:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.yaml")):
                found.setdefault(path.stem, (path, source))
        return found

    def refresh(self) -> FrameSet:
        """The current frames, re-validated only if a file changed since the last call."""
        with self._lock:
            found = self._discover()
            stats: dict[Path, tuple[int, int, int]] = {}
            for path, _ in found.values():
                try:
                    st = path.stat()
                except OSError:
                    continue
                stats[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
            signature = tuple(sorted((str(p), s) for p, s in stats.items()))
            if signature == self._signature:
                return self._snapshot
            changed = {p for p in stats if self._stats.get(p) != stats[p]}
            changed |= set(self._stats) - set(stats)
            self._snapshot = self._load(found, extra=[])
            self._stats, self._signature = stats, signature
            self._commit(changed)
            return self._snapshot

    def _load(self, found: Mapping[str, tuple[Path, str]], extra: Sequence[FrameFile]) -> FrameSet:
        files: dict[str, FrameFile] = {}
        read_errors: dict[str, list[Issue]] = {}
        for fid, (path, source) in found.items():
            item = _read(path, source)
            if isinstance(item, Issue):
                read_errors[fid] = [item]
            else:
                files[fid] = item
        for item in extra:
            files[item.frame_id] = item
            read_errors.pop(item.frame_id, None)
        result = build_set(list(files.values()), self.known_tools)
        result.errors.update(read_errors)
        return result

    def _commit(self, changed: set[Path]) -> None:
        if self.repo is None:
            return
        names = [
            p.name
            for p in changed
            if p.parent == self.repo.root and p.stem not in self._snapshot.errors
        ]
        if names:
            stems = ", ".join(sorted(Path(n).stem for n in names))
            self.repo.commit_changes(names, f"frames: {stems}")

    def get(self, frame_id: str) -> LoadedFrame:
        return self.refresh().get_frame(frame_id)

    def validate(self, paths: Sequence[Path]) -> dict[Path, list[Issue]]:
        """Check files (anywhere on disk) against this library; every path gets a list."""
        given: list[FrameFile] = []
        result: dict[Path, list[Issue]] = {}
        for path in paths:
            item = _read(path, "given") if path.exists() else Issue(None, "", "no such file")
            if isinstance(item, Issue):
                result[path] = [item]
            else:
                given.append(item)
        snapshot = self._load(self._discover(), extra=given)
        for item in given:
            result[item.path] = snapshot.errors.get(item.frame_id, [])
        return result

    def pinned(self, ref: str) -> tuple[str, FrameSet]:
        """``ID`` or ``frame://ID@VERSION`` → the id and a snapshot in which that id is the
        exact committed content of that version (the rest of the library as it is now)."""
        frame_id, version = parse_ref(ref)
        current = self.refresh()
        if version is None or (frame_id in current and current[frame_id].frame.version == version):
            return frame_id, current
        if self.repo is None:
            raise FrameNotFoundError(
                f"cannot resolve {ref}: this library has no version history",
                fix="run it by id, without @VERSION",
            )
        content = self.repo.read(frame_id, version).content.decode("utf-8")
        old = FrameFile(frame_id, self.repo.root / f"{frame_id}.yaml", content, "history")
        snapshot = self._load(self._discover(), extra=[old])
        snapshot.get_frame(frame_id)  # the old version must still validate against today's
        return frame_id, snapshot
