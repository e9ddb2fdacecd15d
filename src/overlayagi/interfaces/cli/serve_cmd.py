"""``overlay serve``: the HTTP API (OpenAI-compatible) on uvicorn."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from overlayagi.interfaces.cli.engine_setup import ready_llm
from overlayagi.interfaces.cli.render import err, state


def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: server.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port, 8077).")] = None,
) -> None:
    """Serve the API. Off loopback it requires a token (OVERLAY_API_TOKEN or server.token)."""
    import uvicorn

    from overlayagi.interfaces.http.app import create_app
    from overlayagi.interfaces.http.observability import JsonFormatter
    from overlayagi.interfaces.http.security import check_bind, resolve_token

    ws = state.workspace()
    cfg = ws.config.server
    bind_host = host or cfg.host
    bind_port = port or cfg.port
    token = resolve_token(cfg.token.get_secret_value() if cfg.token else None)
    check_bind(bind_host, token)
    ready_llm(None)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    http_log = logging.getLogger("overlayagi.http")
    http_log.handlers = [handler]
    http_log.setLevel(logging.INFO)
    http_log.propagate = False
    app = create_app(ws, token=token)
    shown = f"[{bind_host}]" if ":" in bind_host else bind_host
    auth = " (Bearer token required)" if token else ""
    err.print(f"Overlay serving on http://{shown}:{bind_port}{auth} — OpenAI base_url /v1")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="warning", access_log=False)
