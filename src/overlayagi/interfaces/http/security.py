"""Who may reach the server: loopback by default; anything else only with a bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import os

from fastapi import HTTPException, Request, status

from overlayagi.errors import OverlayError

TOKEN_ENV = "OVERLAY_API_TOKEN"
OPEN_PATHS = frozenset({"/health", "/"})


class ServeRefused(OverlayError):
    exit_code = 2


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(configured: str | None) -> str | None:
    """``OVERLAY_API_TOKEN`` wins over ``server.token`` in overlay.toml; empty means none."""
    token = os.environ.get(TOKEN_ENV) or configured
    return token or None


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token: the API runs models and tools."""
    if not is_loopback(host) and not token:
        raise ServeRefused(
            f"refusing to listen on {host}: without an API token anyone who can reach this "
            "address could run models, read your memory and your vault",
            fix=f"set {TOKEN_ENV} (or server.token in overlay.toml) and send it as "
            "'Authorization: Bearer TOKEN', or bind to 127.0.0.1",
        )


def bearer_guard(token: str | None):  # type: ignore[no-untyped-def]
    """A dependency that checks ``Authorization: Bearer`` on every route but /health."""

    async def guard(request: Request) -> None:
        if token is None or request.url.path in OPEN_PATHS:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or wrong API token: send 'Authorization: Bearer TOKEN'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return guard
