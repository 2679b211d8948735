"""Turn a notebook submission (`lab.ipynb` alone) into the four graded modules.

A student who works in a notebook (the otter-grader or nbgrader version of the lab) hands in
`lab.ipynb`, not the four modules. The grader never runs the notebook: it reads its code cells
with `ast` and writes, for each module, the imports, the graded function definitions and the
helpers they use (functions, classes, and constants whose values call nothing). Everything else
(training runs, plots, data loading) is left out, so grading a notebook gives the same results
as grading the same functions handed in as modules.

Cells run top to bottom, so a name defined twice takes its last definition. A cell that does not
parse is skipped, unless it defines a graded function: then its text goes into the module as is,
and the module fails to import, exactly as a module with that syntax error would.

Example:
    >>> modules = extract_modules(Path("lab.ipynb"), {"models.py": ["build_model"]})
    >>> print(modules["models.py"])  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

NOTEBOOK = "lab.ipynb"
HEADER = "# Extracted from {name} by the grader: imports, graded functions and the helpers they use.\n"
_MAGIC = re.compile(r"^\s*[%!]")


class NotebookSubmissionError(ValueError):
    """A notebook that cannot be read at all (the message names the file)."""


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a code cell: the names it binds and its source text."""

    cell: int
    order: int
    kind: str  # "future", "import", "def", "constant"
    binds: tuple[str, ...]
    uses: frozenset[str]
    text: str


def _without_magics(source: str) -> str:
    """IPython `%magic` and `!shell` lines become comments, so the cell parses as Python."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join(f"# {line}" if _MAGIC.match(line) else line for line in source.splitlines())


def _used_names(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def _is_constant(value: ast.AST | None) -> bool:
    return value is not None and not any(isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)) for n in ast.walk(value))


def _lines(source: str, node: ast.stmt) -> str:
    lines = source.splitlines()
    start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
    if node.end_lineno is None:
        return ast.get_source_segment(source, node) or ""
    if start == node.end_lineno and ";" in lines[start - 1]:
        return ast.get_source_segment(source, node) or ""
    return "\n".join(lines[start - 1 : node.end_lineno])


def _statement(cell: int, order: int, source: str, node: ast.stmt) -> Statement | None:
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return Statement(cell, order, "future", (), frozenset(), _lines(source, node))
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        binds = tuple((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        return Statement(cell, order, "import", binds, frozenset(), _lines(source, node))
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return Statement(cell, order, "def", (node.name,), _used_names(node), _lines(source, node))
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_constant(node.value):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if all(isinstance(t, ast.Name) for t in targets):
            binds = tuple(t.id for t in targets)
            return Statement(cell, order, "constant", binds, _used_names(node.value), _lines(source, node))
    return None


def read_code_cells(path: Path) -> list[str]:
    """The source of each code cell of the notebook at `path`, in order."""
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for unreadable files
        raise NotebookSubmissionError(f"{path}: expected a Jupyter notebook. Received: unreadable ({exc})") from None
    sources = []
    for index, cell in enumerate(notebook.cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookSubmissionError(
                f"{path}: expected the source of cell {index} to be text. Received: {type(source).__name__}"
            )
        sources.append(source)
    return sources


def _statements(cells: Sequence[str], graded: set[str], name: str = NOTEBOOK) -> tuple[list[Statement], list[str]]:
    """Every useful top-level statement, and the raw text of broken cells that define graded functions."""
    found, broken = [], []
    for index, raw in enumerate(cells):
        source = _without_magics(raw)
        try:
            tree = ast.parse(source)
        except (RecursionError, MemoryError):
            raise NotebookSubmissionError(
                f"{name}: expected code cells the grader can parse. Received: code cell {index} is nested too "
                "deeply for Python's parser"
            ) from None
        except (SyntaxError, ValueError):  # ValueError: a NUL byte in the source
            if any(re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\b", raw, re.M) for name in graded):
                broken.append(raw)
            continue
        for order, node in enumerate(tree.body):
            statement = _statement(index, order, source, node)
            if statement is not None:
                found.append(statement)
    return found, broken


def _closure(roots: Sequence[str], statements: list[Statement]) -> list[Statement]:
    """The last definition of each root, and, transitively, of every name they use."""
    latest: dict[str, Statement] = {}
    for statement in statements:
        for name in statement.binds:
            latest[name] = statement
    chosen: dict[tuple[int, int], Statement] = {}
    todo = [name for name in roots if name in latest]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name in vars(builtins) and name not in latest:
            continue
        seen.add(name)
        statement = latest.get(name)
        if statement is None:
            continue
        chosen[(statement.cell, statement.order)] = statement
        todo += [used for used in statement.uses if used not in seen]
    return [chosen[key] for key in sorted(chosen)]


def module_source(statements: list[Statement], roots: Sequence[str], name: str = NOTEBOOK, broken: Sequence[str] = ()) -> str:
    """The text of one module: future imports, imports, then definitions in notebook order."""
    kept = _closure(roots, statements)
    futures = [s.text for s in statements if s.kind == "future"]
    imports = [s.text for s in kept if s.kind == "import"]
    body = [s.text for s in kept if s.kind != "import"]
    parts = [HEADER.format(name=name)]
    if futures:
        parts.append("\n".join(dict.fromkeys(futures)) + "\n")
    if imports:
        parts.append("\n".join(dict.fromkeys(imports)) + "\n")
    parts += [text + "\n" for text in body]
    parts += [text + "\n" for text in broken]
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def extract_modules(notebook: Path, graded: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Build each graded module from the code cells of `notebook`.

    Args:
        notebook: a `.ipynb` file.
        graded: module file name -> the graded function names it must hold (from `course.yaml`).

    Returns:
        Module file name -> module source text.

    Raises:
        NotebookSubmissionError: the file is not a readable notebook, a code cell's source is
            not text, or a cell is nested too deeply for Python's parser.
    """
    cells = read_code_cells(Path(notebook))
    statements, broken = _statements(cells, {f for names in graded.values() for f in names}, str(notebook))
    out = {}
    for module, roots in graded.items():
        mine = [raw for raw in broken if any(re.search(rf"def\s+{re.escape(f)}\b", raw) for f in roots)]
        out[module] = module_source(statements, list(roots), Path(notebook).name, mine)
    return out


def graded_functions(config=None) -> dict[str, list[str]]:
    """Module file name -> graded function names, from the course configuration."""
    from autograder.config import load_config  # noqa: PLC0415

    config = config or load_config()
    return {config.parts[part].module: list(config.parts[part].functions) for part in config.part_names}


def find_notebook(folder: Path) -> Path | None:
    """`lab.ipynb` in `folder`, else its only notebook, else None."""
    folder = Path(folder)
    if (folder / NOTEBOOK).is_file():
        return folder / NOTEBOOK
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.name.startswith("."))
    return notebooks[0] if len(notebooks) == 1 else None


def module_folder(folder: Path, modules: Sequence[str], scratch: Path, config=None) -> Path:
    """The folder to grade for a submission folder: itself, or the modules extracted from its notebook.

    A folder that holds any graded module is graded as it is. A folder holding only a notebook
    gets its modules written to `scratch` (created), next to a copy of the notebook.

    Args:
        folder: the submission folder.
        modules: the graded module file names.
        scratch: an empty or missing folder for the extracted modules.
        config: the course configuration (default: the one `course.yaml` lookup finds).

    Returns:
        `folder`, or `scratch` holding the extracted modules.
    """
    folder = Path(folder)
    notebook = find_notebook(folder)
    if notebook is None or any((folder / name).is_file() for name in modules):
        return folder
    graded = {name: functions for name, functions in graded_functions(config).items() if name in modules}
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    for name, text in extract_modules(notebook, graded).items():
        (scratch / name).write_text(text, encoding="utf-8")
    (scratch / notebook.name).write_bytes(notebook.read_bytes())
    return scratch
