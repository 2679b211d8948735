"""Solution markers: `# BEGIN SOLUTION <hint>` ... `# END SOLUTION` inside a function body.

The release replaces each marked block with `raise NotImplementedError("<function>: <hint>")`
at the block's indentation, so the stub keeps its signature and docstring and fails loudly.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\b[ \t]*(?P<hint>.*?)\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\b")


class MarkerError(ValueError):
    """Unbalanced or misplaced solution markers."""


@dataclass(frozen=True)
class SolutionBlock:
    """One marked block: its lines (1-based, inclusive of markers), the hint and the function."""

    begin: int
    end: int
    hint: str
    function: str


def _enclosing_functions(source: str) -> list[tuple[int, int, str]]:
    tree = ast.parse(source)
    return [
        (node.lineno, node.end_lineno or node.lineno, node.name)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def find_blocks(source: str, filename: str = "<source>") -> list[SolutionBlock]:
    """Locate every solution block.

    Raises:
        MarkerError: a BEGIN without END (or the reverse), nested blocks, or a block outside a
            function; the message gives file:line.
    """
    functions = _enclosing_functions(source)
    blocks, open_at, hint = [], None, ""
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN.match(line):
            if open_at is not None:
                raise MarkerError(f"{filename}:{number}: nested BEGIN SOLUTION (block open since line {open_at})")
            open_at, hint = number, BEGIN.match(line)["hint"]
        elif END.match(line):
            if open_at is None:
                raise MarkerError(f"{filename}:{number}: END SOLUTION without a BEGIN SOLUTION")
            owners = [f for f in functions if f[0] < open_at <= f[1]]
            if not owners:
                raise MarkerError(f"{filename}:{open_at}: solution block outside any function")
            innermost = max(owners, key=lambda f: f[0])
            blocks.append(SolutionBlock(open_at, number, hint, innermost[2]))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{filename}:{open_at}: BEGIN SOLUTION without an END SOLUTION")
    return blocks


def strip_solutions(source: str, filename: str = "<source>") -> str:
    """Return `source` with every solution block replaced by a `NotImplementedError` stub."""
    lines = source.splitlines(keepends=True)
    for block in reversed(find_blocks(source, filename)):
        indent = BEGIN.match(lines[block.begin - 1])["indent"]
        message = f"{block.function}: {block.hint}" if block.hint else f"{block.function} is not implemented yet"
        stub = f"{indent}raise NotImplementedError({message!r})\n"
        lines[block.begin - 1 : block.end] = [stub]
    return "".join(lines)


def solution_text(source: str, filename: str = "<source>") -> list[str]:
    """The code lines inside solution blocks (markers excluded), stripped, for leak checks."""
    lines = source.splitlines()
    out = []
    for block in find_blocks(source, filename):
        out += [line.strip() for line in lines[block.begin : block.end - 1] if line.strip()]
    return out
