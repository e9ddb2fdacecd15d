"""``calculator``: arithmetic by walking a Python AST — no ``eval``, no names but math's."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from overlayagi.mind.tools.registry import ToolResult

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCS: dict[str, Callable[..., Any]] = {
    name: getattr(math, name)
    for name in (
        "sqrt",
        "exp",
        "log",
        "log10",
        "log2",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "floor",
        "ceil",
        "factorial",
        "gcd",
        "hypot",
        "radians",
        "degrees",
    )
} | {"abs": abs, "round": round, "min": min, "max": max}
_CONSTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_EXPONENT = 10_000
MAX_MAGNITUDE = 10**1000


class CalcError(ValueError):
    pass


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression safely; raise ``CalcError`` with the reason."""
    text = expression.replace("^", "**").replace("×", "*").replace("÷", "/").strip()
    if len(text) > 2000:
        raise CalcError("expression too long")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalcError(f"not an arithmetic expression: {exc.msg}") from None
    value = _eval(tree.body)
    if not isinstance(value, int | float):
        raise CalcError("the result is not a number")
    return value


def _eval(node: ast.AST) -> Any:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTS:
        return _CONSTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise CalcError("exponent too large")
        try:
            value = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise CalcError("division by zero") from None
        if isinstance(value, int) and abs(value) > MAX_MAGNITUDE:
            raise CalcError("result too large")
        return value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCS
        and not node.keywords
    ):
        args = [_eval(a) for a in node.args]
        if node.func.id == "factorial" and args and args[0] > 1000:
            raise CalcError("factorial argument too large")
        try:
            return _FUNCS[node.func.id](*args)
        except (ValueError, TypeError) as exc:
            raise CalcError(f"{node.func.id}: {exc}") from None
    raise CalcError(
        f"unsupported element: {ast.unparse(node) if hasattr(ast, 'unparse') else node}"
    )


def format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


class Calculator:
    name = "calculator"
    description = "evaluates an arithmetic expression, e.g. (17 * 23) + sqrt(2)"
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "arithmetic expression"}},
        "required": ["expression"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            return ToolResult(format_number(evaluate(str(arguments["expression"]))))
        except CalcError as exc:
            return ToolResult(f"error: {exc}", error=True)
        except (OverflowError, RecursionError):
            return ToolResult("error: result out of range", error=True)
