"""Static checks of a student's code: is every graded function there, and written?

These read source text only (nothing runs), so they are instant and safe: `course submit` uses
them before packaging, and the exported notebooks use them for the checks students run
themselves. A function whose body is only a docstring and `raise NotImplementedError(...)` (the
release's stub, or nbgrader's) counts as not written yet.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

OK, MISSING, STUB, SYNTAX = "ok", "missing", "not written yet", "syntax error"


@dataclass(frozen=True)
class FunctionStatus:
    """What the static check found for one graded function."""

    name: str
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def describe(self) -> str:
        """One line for students, e.g. "build_model: not written yet (it still raises NotImplementedError)"."""
        return f"{self.name}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(target, ast.Name) and target.id == "NotImplementedError"


def function_statuses(source: str, names: Sequence[str], filename: str = "<module>") -> list[FunctionStatus]:
    """The status of each of `names` among the top-level functions of `source` (the last definition wins)."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"{filename}:{exc.lineno}: {exc.msg}"
        return [FunctionStatus(name, SYNTAX, where) for name in names]
    defined = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined[node.name] = node
    out = []
    for name in names:
        node = defined.get(name)
        if node is None:
            out.append(FunctionStatus(name, MISSING, f"no top-level `def {name}` in {filename}"))
        elif _is_stub(node):
            out.append(FunctionStatus(name, STUB, "it still raises NotImplementedError"))
        else:
            out.append(FunctionStatus(name, OK))
    return out
