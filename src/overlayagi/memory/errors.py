"""Store errors: a file that is not Overlay's store, or is damaged, is never silently reset."""

from __future__ import annotations

from overlayagi.errors import OverlayError


class StoreError(OverlayError):
    exit_code = 2


class NotFoundError(OverlayError):
    exit_code = 2
