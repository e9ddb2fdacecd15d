"""``overlay doctor``: check the machine, the workspace and every configured model."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass

import typer

from overlayagi.engine import model_files
from overlayagi.engine.catalog import CatalogModel
from overlayagi.errors import OverlayError
from overlayagi.interfaces.cli.render import out, state
from overlayagi.workspace import Workspace


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn: bool = False


def _run(name: str, probe: Callable[[], str], fix: str = "") -> Check:
    try:
        return Check(name, True, probe())
    except OverlayError as exc:
        return Check(name, False, exc.what, exc.fix or fix)
    except Exception as exc:  # doctor reports, it does not crash
        return Check(name, False, f"{type(exc).__name__}: {exc}", fix)


def _python() -> str:
    return f"{platform.python_version()} at {sys.executable}"


def _cores() -> str:
    return f"{os.cpu_count()} cores"


def _memory() -> str:
    pages = os.sysconf("SC_PHYS_PAGES")
    avail = os.sysconf("SC_AVPHYS_PAGES")
    size = os.sysconf("SC_PAGE_SIZE")
    total_gb, free_gb = pages * size / 1e9, avail * size / 1e9
    if total_gb < 2:
        raise RuntimeError(f"only {total_gb:.1f} GB RAM; the default model needs about 1 GB")
    return f"{total_gb:.1f} GB total, {free_gb:.1f} GB free"


def _llama_cpp() -> str:
    import llama_cpp

    return f"llama-cpp-python {llama_cpp.__version__}"


def _model_check(ws: Workspace, name: str) -> Callable[[], str]:
    def probe() -> str:
        cfg = ws.model_config(name)
        if isinstance(cfg, CatalogModel):
            path = ws.models_dir / cfg.filename
            if not path.exists():
                if not model_files.parts_installed(cfg):
                    raise OverlayError(
                        f"{name}: not present and its part packages are not installed",
                        fix=f"run `overlay models pull {name}`",
                    )
                return f"{name}: not assembled yet (parts installed; first use assembles it)"
            model_files.verify(path, cfg.sha256, model=name)
            return f"{name}: present, sha256 verified ({path})"
        backend = ws.build_backend(name)
        ping = getattr(backend, "ping", None)
        if ping is not None:
            served = ping()
            return f"{name}: server reachable ({len(served)} models served)"
        return f"{name}: GGUF present ({getattr(backend, 'path', '')})"

    return probe


def _embedder(ws: Workspace) -> Callable[[], str]:
    def probe() -> str:
        embedder = ws.build_embedder()
        vectors = embedder.embed(["проверка", "check"])
        return f"{embedder.model_id} loads, dim {vectors.shape[1]}"

    return probe


def _workspace(ws: Workspace) -> str:
    probe = ws.data_dir / ".doctor-write-test"
    probe.write_text("ok")
    probe.unlink()
    return f"{ws.root} (writable)"


def _sandbox() -> Check:
    from overlayagi.mind.tools.sandbox import isolation

    iso = isolation()
    if iso.network_namespace:
        return Check("python sandbox", True, iso.describe())
    return Check(
        "python sandbox",
        True,
        iso.describe(),
        "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) so "
        "`unshare --net` works; until then sockets are blocked by an audit hook only",
        warn=True,
    )


def _store(ws: Workspace) -> str:
    store = ws.store()
    runs = len(store.runs(limit=1_000_000))
    return f"{ws.store_path} (schema {store.schema_version}, {runs} runs in the ledger)"


def _frames(ws: Workspace) -> str:
    frames = ws.frame_library().refresh()
    if frames.errors:
        first = next(iter(frames.errors.values()))[0]
        raise OverlayError(
            f"{len(frames.errors)} invalid frame(s): {first}",
            fix="run `overlay frames validate` and fix the positions shown",
        )
    return f"{len(frames)} valid ({ws.frames_dir}, git-versioned)"


def doctor() -> None:
    """Check Python, cores, RAM, llama.cpp, models, embedder, frames, store and sandbox."""
    checks = [
        _run("python", _python, "install Python 3.11 or newer"),
        _run("cpu", _cores),
        _run("memory", _memory),
        _run("llama_cpp", _llama_cpp, "run `make install` (builds llama-cpp-python)"),
    ]
    try:
        ws = state.workspace()
    except OverlayError as exc:
        checks.append(Check("workspace", False, exc.what, exc.fix or ""))
        ws = None
    if ws is not None:
        checks.append(_run("workspace", lambda: _workspace(ws), "choose a writable --workspace"))
        names = ws.chain()
        names += [n for n in ws.config.models if n not in names]
        for name in names:
            checks.append(_run(f"model {name}", _model_check(ws, name)))
        checks.append(_run("embedder", _embedder(ws)))
        checks.append(_run("frames", lambda: _frames(ws)))
        checks.append(_run("store", lambda: _store(ws)))
    checks.append(_sandbox())
    failed = 0
    for check in checks:
        mark = "[yellow]WARN[/]" if check.warn else "[green]OK  [/]" if check.ok else "[red]FAIL[/]"
        out.print(f"{mark} {check.name:<22} {check.detail}", highlight=False)
        if not check.ok:
            failed += 1
        if check.fix and (check.warn or not check.ok):
            out.print(f"     {'':<22} [dim]fix: {check.fix}[/]")
    if failed:
        out.print(f"\n{failed} check(s) failed")
        raise typer.Exit(1)
    out.print("\nall checks passed")
