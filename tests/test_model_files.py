"""Assembling catalog models from part packages, hash checks, and the shared cache."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from overlayagi.engine import model_files
from overlayagi.engine.catalog import CatalogModel
from overlayagi.engine.errors import ModelCorruptError, ModelNotFoundError
from overlayagi.engine.model_files import HashStatus


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CatalogModel:
    """Three tiny part packages on sys.path, exposing get_part_path() like the real ones."""
    pkgs = tmp_path / "pkgs"
    blobs = [b"GGUF" + b"a" * 1000, b"b" * 2000, b"c" * 1500]
    modules = []
    for i, blob in enumerate(blobs, 1):
        name = f"fake_model_part{i}_{tmp_path.name.replace('-', '_')}"
        pkg = pkgs / name
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i}.bin").write_bytes(blob)
        (pkg / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part{i}.bin')\n"
        )
        modules.append(name)
    monkeypatch.syspath_prepend(str(pkgs))
    whole = b"".join(blobs)
    return CatalogModel(
        name="fake",
        title="fake",
        filename="fake.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        part_modules=tuple(modules),
        train_context=512,
    )


def test_assemble_concatenates_in_order_and_records_verification(
    fake_model: CatalogModel, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    dest = model_files.assemble(
        fake_model, tmp_path / "cache" / "fake.gguf", lambda d, t: seen.append((d, t))
    )
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == fake_model.sha256
    assert seen[-1] == (fake_model.size, fake_model.size)
    assert model_files.file_state(dest, fake_model.sha256).status is HashStatus.VERIFIED
    assert not list(dest.parent.glob("*.partial"))


def test_a_changed_file_is_no_longer_verified(fake_model: CatalogModel, tmp_path: Path) -> None:
    dest = model_files.assemble(fake_model, tmp_path / "fake.gguf")
    with dest.open("r+b") as fh:
        fh.seek(10)
        fh.write(b"X")
    assert model_files.file_state(dest, fake_model.sha256).status is HashStatus.UNVERIFIED
    with pytest.raises(ModelCorruptError, match=r"has sha256 .* expected") as info:
        model_files.verify(dest, fake_model.sha256, model="fake")
    assert info.value.fix == "re-create it with `overlay models pull fake --force`"


def test_wrong_parts_never_leave_a_file(fake_model: CatalogModel, tmp_path: Path) -> None:
    bad = CatalogModel(**{**fake_model.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelCorruptError, match="assembled fake has sha256"):
        model_files.assemble(bad, tmp_path / "fake.gguf")
    assert list(tmp_path.iterdir()) == [tmp_path / "pkgs"]


def test_missing_parts_say_how_to_get_them(tmp_path: Path) -> None:
    ghost = CatalogModel(
        name="ghost",
        title="",
        filename="g.gguf",
        size=1,
        sha256="0" * 64,
        part_modules=("no_such_part_pkg_1", "no_such_part_pkg_2"),
        train_context=1,
    )
    assert not model_files.parts_installed(ghost)
    with pytest.raises(ModelNotFoundError) as info:
        model_files.part_paths(ghost)
    assert "2 of 2 part packages are not installed (no-such-part-pkg-1" in str(info.value)
    assert "overlay models pull ghost" in str(info.value)


def test_link_shares_the_file(fake_model: CatalogModel, tmp_path: Path) -> None:
    cached = model_files.assemble(fake_model, tmp_path / "cache" / "fake.gguf")
    local = tmp_path / "ws" / "models" / "fake.gguf"
    model_files.link_into(cached, local)
    assert local.stat().st_ino == cached.stat().st_ino
    assert sys.platform != "linux" or local.stat().st_nlink == 2
