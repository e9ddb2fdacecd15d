"""Workspace location, creation, and the catalog model's preparation through the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlayagi.engine.catalog import CATALOG, DEFAULT_MODEL
from overlayagi.engine.errors import ModelCorruptError, ModelNotFoundError
from overlayagi.errors import WorkspaceError
from overlayagi.workspace import Workspace, resolve_home


def test_home_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERLAY_HOME", str(tmp_path / "env"))
    assert resolve_home() == tmp_path / "env"
    assert resolve_home(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("OVERLAY_HOME")
    assert resolve_home().name == "overlay"


def test_init_creates_layout_and_never_overwrites(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    assert ws.created
    for sub in ("data", "models", "frames"):
        assert (ws.root / sub).is_dir()
    ws.config_path.write_text('[engine]\nmodel = "mine"\n')
    again = Workspace.init(ws.root)
    assert not again.created and again.config.engine.model == "mine"


def test_open_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "stuff.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="is not an Overlay workspace"):
        Workspace.open(tmp_path)
    assert Workspace.open(tmp_path / "fresh").created


def test_unknown_model_lists_the_known_ones(workspace: Workspace) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        workspace.build_llm("gpt-17")
    assert "unknown model 'gpt-17'" in str(info.value)
    assert DEFAULT_MODEL in str(info.value)


@pytest.mark.model
def test_default_model_is_shared_not_copied(workspace: Workspace, model_path: Path) -> None:
    path = workspace.prepare_model(DEFAULT_MODEL)
    assert path == workspace.models_dir / CATALOG[DEFAULT_MODEL].filename
    cached = workspace.model_cache / CATALOG[DEFAULT_MODEL].filename
    assert path.stat().st_ino == cached.stat().st_ino or path.resolve() == cached.resolve()
    rows = {r.name: r for r in workspace.describe_models()}
    assert rows[DEFAULT_MODEL].active and rows[DEFAULT_MODEL].hash_status == "verified"


def test_a_truncated_catalog_file_is_reported(workspace: Workspace) -> None:
    target = workspace.models_dir / CATALOG[DEFAULT_MODEL].filename
    target.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(ModelCorruptError) as info:
        workspace.prepare_model(DEFAULT_MODEL)
    assert "truncated or replaced" in str(info.value)
    assert f"overlay models pull {DEFAULT_MODEL} --force" in str(info.value)
