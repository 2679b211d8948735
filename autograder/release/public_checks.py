"""Keep only the public checks of a check file: every `@check(..., visibility="visible")` function.

Hidden checks are removed from the source text itself (not just skipped), so neither their
names nor their expectations reach students.
"""

from __future__ import annotations

import ast

PUBLIC = "visible"


def _visibility(node: ast.FunctionDef) -> str | None:
    """The literal `visibility=` of a `@check(...)` decorator, or None for a plain function."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call):
            name = decorator.func.attr if isinstance(decorator.func, ast.Attribute) else getattr(decorator.func, "id", "")
            if name == "check":
                for keyword in decorator.keywords:
                    if keyword.arg == "visibility" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
                return "hidden"  # a check that does not say so is hidden
    return None


def public_checks(source: str, filename: str = "<checks>") -> str | None:
    """`source` without its non-public checks, or None when it has no public check at all."""
    tree = ast.parse(source, filename=filename)
    lines = source.splitlines(keepends=True)
    drop, public = [], 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            visibility = _visibility(node)
            if visibility is None:
                continue
            if visibility == PUBLIC:
                public += 1
            else:
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                drop.append((start, node.end_lineno or node.lineno))
    if public == 0:
        return None
    for start, end in reversed(drop):
        del lines[start - 1 : end]
        while start - 1 < len(lines) and start >= 2 and not lines[start - 2].strip() and not lines[start - 1].strip():
            del lines[start - 1]
    return "".join(lines)
