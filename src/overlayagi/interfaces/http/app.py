"""The FastAPI application: the OpenAI-compatible API, health and metrics, behind the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from overlayagi import __version__
from overlayagi.interfaces.http import native_api, openai_api
from overlayagi.interfaces.http.chat_service import ChatService
from overlayagi.interfaces.http.observability import CacheCollector, Metrics, observe
from overlayagi.interfaces.http.runs import RunManager
from overlayagi.interfaces.http.security import bearer_guard
from overlayagi.workspace import Workspace

STATIC = Path(__file__).parent / "static"


def create_app(workspace: Workspace, *, token: str | None = None) -> FastAPI:
    """One app per workspace. With ``token`` every route but /health needs it as Bearer."""
    app = FastAPI(
        title="Overlay",
        version=__version__,
        description="A local-first cognitive overlay for language models: frames as models "
        "(OpenAI-compatible), with memory, a vault and a reasoning ledger.",
        dependencies=[Depends(bearer_guard(token))],
    )
    metrics = Metrics()
    metrics.registry.register(CacheCollector(lambda: workspace.store().counters()))
    app.state.workspace = workspace
    app.state.chat = ChatService(workspace, metrics)
    app.state.metrics = metrics
    app.state.runs = RunManager(workspace, metrics)
    app.middleware("http")(observe(metrics))

    @app.get("/health", tags=["service"], summary="Liveness; never needs the token")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "workspace": str(workspace.root)}

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics")
    async def prometheus(request: Request) -> PlainTextResponse:
        return PlainTextResponse(
            generate_latest(metrics.registry).decode(), media_type=CONTENT_TYPE_LATEST
        )

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.include_router(openai_api.router)
    app.include_router(native_api.router)
    # The web UI: static files only (no data), so they load without the token; the UI asks
    # for it when the API answers 401.
    app.mount("/ui", StaticFiles(directory=STATIC, html=True), name="ui")
    return app
