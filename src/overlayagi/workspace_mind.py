"""The thinking half of the composition root: tools, frames, models for roles, the runner.

``Workspace`` inherits this; it is split out only to keep each file to one concern.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from overlayagi.config import OpenAIModelConfig
from overlayagi.engine.llamacpp import LlamaCppLLM
from overlayagi.engine.protocols import LLM
from overlayagi.engine.types import Message
from overlayagi.errors import WorkspaceError
from overlayagi.frames.errors import RunSetupError
from overlayagi.frames.library import FrameLibrary, builtin_dir
from overlayagi.frames.versions import FrameRepo
from overlayagi.mind.runner import Runner
from overlayagi.mind.state import LLMProvider
from overlayagi.mind.tools.registry import ToolRegistry, default_registry

if TYPE_CHECKING:
    from overlayagi.config import ModelConfig, OverlayConfig
    from overlayagi.engine.catalog import CatalogModel
    from overlayagi.memory.ledger import LedgerSink
    from overlayagi.memory.vault.service import Vault
    from overlayagi.workspace_memory import WorkspaceMemory


class MindWiring:
    root: Path
    config: OverlayConfig
    _library: FrameLibrary | None
    _llms: dict[tuple[str | None, str | None], LLM]

    if TYPE_CHECKING:

        def build_llm(self, name: str | None = None) -> LLM: ...
        def build_backend(self, name: str) -> LLM: ...
        def model_config(self, name: str) -> ModelConfig | CatalogModel: ...
        def memory_hooks(self) -> WorkspaceMemory: ...
        def ledger_sink(self) -> LedgerSink: ...
        def vault(self) -> Vault: ...
        @property
        def frames_dir(self) -> Path: ...

    def tools(self) -> ToolRegistry:
        cfg = self.config.tools
        return default_registry(
            python_timeout_s=cfg.python_timeout_s,
            python_memory_mb=cfg.python_memory_mb,
            vault=self.vault,
        )

    def frame_repo(self) -> FrameRepo:
        """The ``frames/`` git repository; on creation it is seeded with the built-ins."""
        fresh = not (self.frames_dir / ".git").exists()
        repo = FrameRepo(self.frames_dir)
        if fresh:
            names = []
            for src in sorted(builtin_dir().glob("*.yaml")):
                dest = self.frames_dir / src.name
                if not dest.exists():
                    shutil.copyfile(src, dest)
                names.append(src.name)
            repo.commit_changes(names, "built-in frames")
        return repo

    def frame_library(self) -> FrameLibrary:
        """The frames this workspace runs (its own, then the built-ins); hot-reloaded."""
        if self._library is None:
            self._library = FrameLibrary(
                self.frames_dir, known_tools=self.tools(), repo=self.frame_repo()
            )
        return self._library

    def llm(self, name: str | None = None) -> LLM:
        """``build_llm``, built once per workspace object and reused."""
        key = (name or self.config.engine.model, None)
        if key not in self._llms:
            self._llms[key] = self.build_llm(name)
        return self._llms[key]

    def llm_provider(self, default: str | None = None) -> LLMProvider:
        """(model, adapter) → LLM for roles; ``None`` means the run's default model."""

        def provide(model: str | None, adapter: str | None) -> LLM:
            if adapter is None:
                return self.llm(model or default)
            key = (model or default, adapter)
            if key not in self._llms:
                self._llms[key] = self._with_adapter(
                    model or default or self.config.engine.model, adapter
                )
            return self._llms[key]

        return provide

    def _with_adapter(self, name: str, adapter: str) -> LLM:
        cfg = self.model_config(name)
        path = Path(adapter).expanduser()
        path = path if path.is_absolute() else self.root / path
        if isinstance(cfg, OpenAIModelConfig):
            raise RunSetupError(
                f"model '{name}' is served over HTTP; a LoRA adapter can only be applied to a "
                "llama.cpp model",
                fix="serve the adapter as its own model name on the server and set the role's "
                "`model` to it",
            )
        if not path.is_file():
            raise RunSetupError(
                f"adapter file {path} does not exist", fix="set the role's `adapter` to a GGUF LoRA"
            )
        base = self.build_backend(name)
        assert isinstance(base, LlamaCppLLM)
        return LlamaCppLLM(
            base.path,
            model_id=f"{name}+{path.stem}",
            context_size=base.context_size,
            threads=self.config.engine.threads,
            gpu_layers=self.config.engine.gpu_layers,
            lora_path=path,
        )

    def summarizer(self, model: str | None = None) -> Callable[[str], Awaitable[str]]:
        """Text → summary, by the ``summarize`` frame (recorded in the ledger like any run)."""

        async def summarize(text: str) -> str:
            result = await self.runner(model).run("summarize", text, sink=self.ledger_sink())
            if result.status != "ok" or not result.output.strip():
                raise WorkspaceError(f"summarising failed: {result.reason}")
            return result.output

        return summarize

    def vault_summariser(self, model: str | None = None) -> Callable[[str, str], str]:
        """``(kind, text) → summary`` for ``ingest --summaries llm`` (the summarize frame)."""
        summarize = self.summarizer(model)

        def run(kind: str, text: str) -> str:
            async def once() -> str:
                return await summarize(f"[{kind}]\n{text}")

            return asyncio.run(once())

        return run

    def vault_reranker(
        self, model: str | None = None
    ) -> Callable[[str, Sequence[str]], list[float]]:
        """``(query, passages) → scores``: P(yes) that a passage answers the query."""
        llm = self.llm(model)

        def rerank(query: str, passages: Sequence[str]) -> list[float]:
            scores = []
            for passage in passages:
                messages = [
                    Message(role="system", content="You judge whether a note answers a question."),
                    Message(
                        role="user",
                        content=f"Question: {query}\n\nNote: {passage}\n\n"
                        "Does the note answer the question? Answer yes or no.",
                    ),
                ]
                yes, no = llm.score_choices(messages, ["yes", "no"])
                scores.append(yes / ((yes + no) or 1.0))
            return scores

        return rerank

    def runner(self, model: str | None = None, *, seed: int | None = None) -> Runner:
        engine = self.config.engine
        library = self.frame_library()
        return Runner(
            library.refresh,
            self.llm_provider(model),
            tools=self.tools(),
            memory=self.memory_hooks(),
            max_tokens=engine.max_tokens,
            temperature=engine.temperature,
            seed=engine.seed if seed is None else seed,
        )
