"""The ``overlay`` command line (typer + rich)."""

from overlayagi.interfaces.cli.app import app, main

__all__ = ["app", "main"]
