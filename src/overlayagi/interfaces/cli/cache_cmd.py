"""``overlay cache …``: the embedding and answer caches."""

from __future__ import annotations

from typing import Annotated

import typer

from overlayagi.interfaces.cli.render import out, state

app = typer.Typer(help="Embedding and answer caches.", no_args_is_help=True)


@app.command()
def stats() -> None:
    """Entries, hits, misses and hit rates."""
    data = state.workspace().answer_cache().stats()
    sizes = data.pop("entries")
    out.print(f"embeddings  {sizes['embeddings']} cached")
    out.print(f"answers     {sizes['answers']} cached")
    for kind in ("embedding", "answer"):
        rate = data.get(f"{kind}_hit_rate")
        hits, misses = data.get(f"{kind}_hits", 0), data.get(f"{kind}_misses", 0)
        shown = f"{rate:.1%}" if rate is not None else "-"
        out.print(f"{kind:<11} {hits} hits, {misses} misses, hit rate {shown}")


@app.command()
def clear(
    which: Annotated[str, typer.Argument(help="embeddings, answers or all.")] = "all",
) -> None:
    """Empty a cache."""
    if which not in ("embeddings", "answers", "all"):
        raise typer.BadParameter("use embeddings, answers or all", param_hint="WHICH")
    store = state.workspace().store()
    for kind in ("embeddings", "answers") if which == "all" else (which,):
        out.print(f"cleared {store.clear_cache(kind)} {kind}")
