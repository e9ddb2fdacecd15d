"""Configuration: precedence, provenance, and error messages that point at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlayagi.config import load_config, toml_key_line
from overlayagi.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overlay.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    loaded = load_config(tmp_path / "overlay.toml")
    assert loaded.config.engine.model == "qwen2.5-coder-0.5b"
    assert loaded.source_of("engine.model") == "default"


def test_file_then_env_precedence_and_provenance(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "[engine]\nthreads = 2\ncontext_size = 8192\n")
    monkeypatch.setenv("OVERLAY_ENGINE__THREADS", "1")
    loaded = load_config(path)
    assert loaded.config.engine.threads == 1
    assert loaded.config.engine.context_size == 8192
    assert loaded.source_of("engine.threads") == "env OVERLAY_ENGINE__THREADS"
    assert loaded.source_of("engine.context_size") == "overlay.toml:3"
    assert loaded.source_of("engine.top_p") == "default"


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "[engine]\nthreads = 2\nmodel = \n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "not valid TOML" in info.value.what
    assert info.value.where == f"{path}:3:9"


def test_unknown_key_points_at_its_line_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "[engine]\nthreads = 2\n\ncontex_size = 100\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (
        "engine.contex_size: unknown key 'contex_size' — did you mean 'context_size'?" in err.what
    )
    assert err.where == f"{path}:4"


def test_wrong_type_in_a_model_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[models.remote]\nbackend = "openai"\nbase_url = "http://x/v1"\nmodel = "m"\n'
        'timeout_s = "soon"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "models.remote.timeout_s: Input should be a valid number" in info.value.what
    assert info.value.where == f"{path}:5"


def test_unknown_backend(tmp_path: Path) -> None:
    path = write(tmp_path, '[models.x]\nbackend = "ollama"\n')
    with pytest.raises(ConfigError, match="backend must be 'llamacpp' or 'openai'"):
        load_config(path)


def test_bad_env_value_names_the_variable(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OVERLAY_ENGINE__TEMPERATURE", "hot")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[engine]\ntemperature = 0.5\n"))
    assert info.value.where == "environment variable OVERLAY_ENGINE__TEMPERATURE"


def test_key_line_locator() -> None:
    text = '# c\n[engine]\nmodel = "a"\n\n[models."my.model"]\npath = "x"\n'
    assert toml_key_line(text, ("engine", "model")) == 3
    assert toml_key_line(text, ("models", "my.model", "path")) == 6
    assert toml_key_line(text, ("models", "my.model", "nope")) == 5
    assert toml_key_line(text, ("paths",)) is None


def test_user_paths_expand_home(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, '[paths]\nmodel_cache = "~/models"\n'))
    assert loaded.config.paths.model_cache == Path.home() / "models"
