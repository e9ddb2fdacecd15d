"""Getting a ready model for a command: prepare catalog files (with progress), then build."""

from __future__ import annotations

from overlayagi.engine.catalog import CatalogModel
from overlayagi.engine.protocols import LLM
from overlayagi.interfaces.cli.render import progress_bars, state


def ready_llm(model: str | None = None) -> LLM:
    """The workspace's model chain, with catalog models assembled and verified first."""
    ws = state.workspace()
    names = ws.chain(model)
    catalog = [n for n in names if isinstance(ws.model_config(n), CatalogModel)]
    if catalog:
        with progress_bars() as bars:
            for name in catalog:
                ws.prepare_model(name, progress=bars)
    return ws.llm(model)
