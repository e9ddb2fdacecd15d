"""The ``overlay`` command: root options, error handling, and command registration."""

from __future__ import annotations

import os
import platform
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from overlayagi import __version__
from overlayagi.engine.catalog import DEFAULT_MODEL
from overlayagi.errors import OverlayError
from overlayagi.interfaces.cli import (
    ask,
    cache_cmd,
    chat,
    config_cmd,
    doctor,
    eval_cmd,
    frames_cmd,
    ledger_cmd,
    memory_cmd,
    models,
    profile_cmd,
    run_cmd,
    serve_cmd,
    sessions_cmd,
    vault_cmd,
)
from overlayagi.interfaces.cli.render import err, out, print_error, setup_logging, state

app = typer.Typer(
    name="overlay",
    help="Overlay — a local-first cognitive overlay for language models.\n\n"
    "The workspace is chosen by --workspace, else $OVERLAY_HOME, else ~/.local/share/overlay.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    add_completion=False,
)


@app.callback()
def root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: $OVERLAY_HOME or the user data dir).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs.")] = False,
) -> None:
    state.workspace_dir = workspace
    state.debug = debug or os.environ.get("OVERLAY_DEBUG") == "1"
    setup_logging(state.debug, verbose)


@app.command()
def init(
    directory: Annotated[
        Path | None, typer.Argument(help="Where to create it (default: the workspace location).")
    ] = None,
    model: Annotated[
        str, typer.Option(help="The active model to write into overlay.toml.")
    ] = DEFAULT_MODEL,
) -> None:
    """Create a workspace: overlay.toml and folders for data, models and frames."""
    from overlayagi.workspace import Workspace, resolve_home

    root = resolve_home(directory or state.workspace_dir)
    ws = Workspace.init(root, model=model)
    verb = "created" if ws.created else "already a workspace, left as it was:"
    out.print(f"{verb} {ws.root}")
    out.print(f"  config  {ws.config_path}")
    out.print('  next    overlay models pull  ·  overlay ask "…"  ·  overlay chat')


@app.command()
def version() -> None:
    """Print versions of Overlay, Python and llama-cpp-python."""
    try:
        import llama_cpp

        llama = llama_cpp.__version__
    except ImportError:
        llama = "not installed"
    out.print(f"overlay {__version__}")
    out.print(f"python {platform.python_version()} ({sys.executable})")
    out.print(f"llama-cpp-python {llama}")


app.command()(ask.ask)
app.command()(chat.chat)
app.command()(doctor.doctor)
app.command()(run_cmd.run)
app.command()(vault_cmd.ingest)
app.command()(vault_cmd.search)
app.command()(serve_cmd.serve)
app.command("eval", help=eval_cmd.HELP)(eval_cmd.eval_command)
app.add_typer(frames_cmd.app, name="frames")
app.add_typer(profile_cmd.app, name="profile")
app.add_typer(sessions_cmd.app, name="sessions")
app.add_typer(memory_cmd.app, name="memory")
app.add_typer(ledger_cmd.app, name="ledger")
app.add_typer(cache_cmd.app, name="cache")
app.add_typer(vault_cmd.app, name="vault")
app.add_typer(models.app, name="models")
app.add_typer(config_cmd.app, name="config")


def _click_error() -> type[Exception]:
    """Click's ``ClickException`` as this Typer raises it: Typer ≥ 0.20 carries its own copy
    of Click (``typer._click``), older ones use Click itself; reach it through a public class."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "ClickException":
            return cls
    raise ImportError("typer.BadParameter does not derive from a ClickException")


CLICK_ERROR = _click_error()


def main() -> None:
    """Console-script entry point: run the app, render errors without tracebacks."""
    try:
        result = app(standalone_mode=False)
    except OverlayError as exc:
        if state.debug:
            err.print(traceback.format_exc(), markup=False)
        print_error(exc)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except CLICK_ERROR as exc:  # usage errors: unknown command, bad option value, …
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so, with the traceback on request
        if state.debug:
            err.print(traceback.format_exc(), markup=False)
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "  this is a bug in Overlay; run with --debug for the traceback"
        )
        sys.exit(70)
    sys.exit(result if isinstance(result, int) else 0)
