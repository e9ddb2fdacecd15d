"""The phase tree of a run, as a rich Tree."""

from __future__ import annotations

from rich.markup import escape
from rich.tree import Tree

from overlayagi.mind.trace import TraceNode

_STYLE = {
    "run": "bold",
    "phase": "cyan",
    "llm_call": "dim",
    "tool_call": "magenta",
    "decision": "yellow",
}


def _label(node: TraceNode) -> str:
    bits = [f"[{_STYLE[node.kind]}]{escape(node.name)}[/]"]
    if (node.status and node.kind in ("run", "tool_call")) or node.status in ("error", "refused"):
        bits.append(escape(str(node.status)))
    if node.duration_s is not None:
        bits.append(f"{node.duration_s:.2f}s")
    if node.kind in ("run", "phase") and node.llm_calls:
        bits.append(f"{node.llm_calls} call{'s' if node.llm_calls != 1 else ''}")
    if node.tokens:
        bits.append(f"{node.tokens} tok")
    if node.kind == "decision" and node.detail.get("scores"):
        scores = node.detail["scores"]
        bits.append("p=[" + ", ".join(f"{s:.2f}" for s in scores) + "]")
    return " · ".join(bits)


def render_tree(node: TraceNode, tree: Tree | None = None) -> Tree:
    branch = Tree(_label(node)) if tree is None else tree.add(_label(node))
    for child in node.children:
        render_tree(child, branch)
    return branch
