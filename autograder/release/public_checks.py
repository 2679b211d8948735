"""Keep only the public checks of a check file: every `@check(..., visibility="visible")` function,
and only what they use.

Hidden checks are removed from the source text itself (not just skipped), and so are the
helpers, constants and imports that only hidden checks use, and the file's docstring (it
describes the hidden checks too): neither their names nor their expectations reach students.
"""

from __future__ import annotations

import ast

PUBLIC = "visible"
PUBLIC_DOCSTRING = '"""The public checks of this part (`course check` runs them). The grader also runs hidden checks."""\n'


def _visibility(node: ast.AST) -> str | None:
    """The literal `visibility=` of a `@check(...)` decorator, or None for anything but a check."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call):
            name = decorator.func.attr if isinstance(decorator.func, ast.Attribute) else getattr(decorator.func, "id", "")
            if name == "check":
                for keyword in decorator.keywords:
                    if keyword.arg == "visibility" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
                return "hidden"  # a check that does not say so is hidden
    return None


def _used(node: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)}


def _defines(node: ast.AST) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {sub.id for target in targets for sub in ast.walk(target) if isinstance(sub, ast.Name)}
    return set()


def _bound(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def public_checks(source: str, filename: str = "<checks>") -> str | None:
    """`source` with its public checks and what they use only, or None when it has no public check."""
    tree = ast.parse(source, filename=filename)
    lines = source.splitlines(keepends=True)
    body = list(tree.body)
    roots = [node for node in body if _visibility(node) == PUBLIC]
    if not roots:
        return None
    definitions = {name: node for node in body if _visibility(node) is None for name in _defines(node)}
    kept: set[int] = {id(node) for node in roots}
    needed: set[str] = set()
    pending = [name for node in roots for name in _used(node)]
    while pending:  # what the public checks use, and what that uses in turn
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        node = definitions.get(name)
        if node is not None and id(node) not in kept:
            kept.add(id(node))
            pending += _used(node)

    def text(node: ast.AST) -> str:
        start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        return "".join(lines[start - 1 : node.end_lineno]).rstrip() + "\n"

    imports: list[str] = []
    rest: list[str] = []
    previous_import: ast.AST | None = None

    def add_import(node: ast.AST, line: str) -> None:
        nonlocal previous_import
        if previous_import is not None and node.lineno > (previous_import.end_lineno or 0) + 1:
            imports.append("\n")  # the blank line between import groups, as written
        imports.append(line)
        previous_import = node

    for index, node in enumerate(body):
        if index == 0 and _is_docstring(node):
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            add_import(node, text(node))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            aliases = [alias for alias in node.names if _bound(alias) in needed]
            if len(aliases) == len(node.names):
                add_import(node, text(node))
            elif aliases:
                node.names = aliases
                add_import(node, ast.unparse(node) + "\n")
        elif _visibility(node) is not None or _defines(node):
            if id(node) in kept:
                rest.append(text(node))
        else:
            rest.append(text(node))  # any other statement stays, as written
    return PUBLIC_DOCSTRING + "\n" + "".join(imports) + "\n\n" + "\n\n".join(rest)
