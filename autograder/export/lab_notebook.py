"""The lab as one notebook: its modules' code and the driver `lab.py`, interleaved.

Notebook platforms (otter-grader, nbgrader) grade a single notebook, so their version of the
lab holds the functions students write in its own cells. It is generated from the single source:
each solution module becomes a markdown cell (its docstring), a cell of imports and one cell per
top-level definition; the cells of `lab.py` follow, with `module.function(...)`
rewritten to `function(...)`. A part's code goes just before the first `lab.py` cell
that uses it, and a placeholder for the part's check cell closes the part's section.

Each platform decorates these `LabCell`s (metadata, stubs or solutions, test code); nothing
here knows about a platform.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import jupytext

from autograder.config import CourseConfig
from autograder.export.errors import ExportError
from autograder.release.markers import BEGIN, END, find_blocks, strip_solutions

NOTEBOOK_SOURCE = "lab.py"
ROLES = ("markdown", "given", "solution", "experiment", "check")
NOTEBOOK_NOTE = (
    "**This notebook is the whole lab.** You write the graded functions in the cells of this notebook "
    "(they stand in for the modules {modules}). The grader reads those function definitions from the "
    "notebook you hand in and trains and measures them itself; it does not run your experiment cells."
)


@dataclass(frozen=True)
class LabCell:
    """One cell of the one-notebook lab.

    Attributes:
        role: "markdown", "given" (code students do not write), "solution" (holds solution
            blocks), "experiment" (a `lab.py` code cell) or "check" (where the part's checks go).
        source: the cell text; for a solution cell, with its `# BEGIN SOLUTION` markers.
        part: the lab part the cell belongs to, or None for `lab.py` cells.
        key: a stable identifier, unique in the notebook (a cell id or grade id).
    """

    role: str
    source: str
    part: str | None
    key: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Expected a cell role among {ROLES}. Received: role={self.role!r}")

    def solved(self) -> str:
        """The cell as the reference solution: marker lines removed."""
        return "\n".join(line for line in self.source.splitlines() if not (BEGIN.match(line) or END.match(line)))

    def stub(self) -> str:
        """The cell as students receive it: each solution block replaced by `raise NotImplementedError`."""
        return strip_solutions(self.source, self.key).rstrip("\n")


def _segments(source: str) -> list[tuple[ast.stmt, str]]:
    """Each top-level statement with its text: comments just above it and trailing comments included.

    A statement runs until the next one's leading comments start, so a function's closing
    `# END SOLUTION` (a comment, which ast does not see) stays with the function.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    starts, previous_end = [], 0
    for node in tree.body:
        first = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        while first - 1 > previous_end and lines[first - 2].startswith("#"):
            first -= 1
        starts.append(first)
        previous_end = node.end_lineno or node.lineno
    ends = [start - 1 for start in starts[1:]] + [len(lines)]
    return [(node, "\n".join(lines[start - 1 : end]).strip("\n")) for node, start, end in zip(tree.body, starts, ends)]


def module_cells(path: Path, part: str, number: int, title: str) -> list[LabCell]:
    """A module's cells: its docstring (markdown), its imports, then one cell per definition."""
    source = path.read_text(encoding="utf-8")
    find_blocks(source, str(path))  # unbalanced markers fail here, naming file:line
    cells, imports = [], []
    docstring = ast.get_docstring(ast.parse(source)) or ""
    heading = f"### Your code for part {number} ({title})\n\n{docstring}".rstrip()
    cells.append(LabCell("markdown", heading, part, f"{part}-intro"))
    for node, text in _segments(source):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # the docstring, already shown
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(text)
            continue
        name = getattr(node, "name", None) or f"statement-{node.lineno}"
        role = "solution" if any(BEGIN.match(line) for line in text.splitlines()) else "given"
        cells.append(LabCell(role, text, part, f"{part}-{name}"))
    if imports:
        cells.insert(1, LabCell("given", "\n".join(imports), part, f"{part}-imports"))
    return cells


def _byte_col(line: str, col: int) -> int:
    """ast offsets count UTF-8 bytes; string slicing counts characters."""
    return len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))


def python_only(source: str) -> str:
    """A notebook cell's code with IPython magics and shell lines (`%...`, `!...`) blanked, for `ast` (line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def without_module_prefixes(source: str, modules: set[str], where: str) -> str:
    """`lab.py` code with `import module` lines dropped and `module.f` turned into `f`."""
    tree = ast.parse(python_only(source))
    lines = source.splitlines()
    drop: set[int] = set()
    edits: list[tuple[int, int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name in modules for a in node.names):
            if not all(a.name in modules and a.asname is None for a in node.names):
                raise ExportError(f"{where}:{node.lineno}: import the lab modules on their own line, without `as`")
            drop.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.ImportFrom) and node.module in modules:
            raise ExportError(f"{where}:{node.lineno}: use `import {node.module}`, not `from {node.module} import ...`")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            name = node.value
            line = lines[name.lineno - 1]
            start, end = _byte_col(line, name.col_offset), _byte_col(line, name.end_col_offset)
            if line[end : end + 1] != ".":
                raise ExportError(f"{where}:{name.lineno}: write `{name.id}.<function>` on one line")
            edits.append((name.lineno, start, end + 1))
    for lineno, start, end in sorted(edits, reverse=True):
        line = lines[lineno - 1]
        lines[lineno - 1] = line[:start] + line[end:]
    kept = [line for number, line in enumerate(lines, start=1) if number not in drop]
    return "\n".join(kept).strip("\n")


def _bound_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(python_only(source)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _check_names(parts: dict[str, list[LabCell]], experiments: list[LabCell]) -> None:
    """One namespace for the whole lab: no definition may shadow a different one."""
    defined: dict[str, tuple[str, str]] = {}
    functions: set[str] = set()
    for part, cells in parts.items():
        for cell in cells:
            if cell.role == "markdown":
                continue
            for node in ast.parse(cell.solved()).body:
                text = ast.unparse(node)
                for name in _bound_names(text):
                    if name in defined and defined[name][1] != text:
                        raise ExportError(
                            f"Expected each name to be defined once in the one-notebook lab. Received: {name!r} "
                            f"defined differently in parts {defined[name][0]!r} and {part!r}"
                        )
                    defined[name] = (part, text)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    functions.add(node.name)
    for cell in experiments:
        clash = sorted(_bound_names(cell.source) & functions) if cell.role == "experiment" else []
        if clash:
            raise ExportError(f"{NOTEBOOK_SOURCE}: a cell assigns {clash[0]!r}, which a lab module defines")


def build_lab(solutions: Path, config: CourseConfig) -> list[LabCell]:
    """The one-notebook lab, generated from the solution modules and `lab.py`.

    Raises:
        ExportError: a module is never used by `lab.py`, or two definitions would clash in the
            notebook's single namespace.
    """
    solutions = Path(solutions)
    modules = {Path(config.parts[p].module).stem: p for p in config.part_names}
    driver = jupytext.reads((solutions / NOTEBOOK_SOURCE).read_text(encoding="utf-8"), fmt="py:percent")
    experiments: list[LabCell] = []
    first_use: dict[str, int] = {}
    for cell in driver.cells:
        if cell.cell_type == "markdown":
            experiments.append(LabCell("markdown", cell.source, None, f"lab-{len(experiments):02d}"))
            continue
        used = {n.value.id for n in ast.walk(ast.parse(python_only(cell.source)))
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules}
        text = without_module_prefixes(cell.source, set(modules), str(solutions / NOTEBOOK_SOURCE))
        for module in used:
            first_use.setdefault(modules[module], len(experiments))
        if text.strip():
            experiments.append(LabCell("experiment", text, None, f"lab-{len(experiments):02d}"))
    unused = [p for p in config.part_names if p not in first_use]
    if unused:
        raise ExportError(f"{solutions / NOTEBOOK_SOURCE}: expected every part to be used. Never used: {unused}")
    parts = {
        p: module_cells(solutions / config.parts[p].module, p, i + 1, config.parts[p].title)
        for i, p in enumerate(config.part_names)
    }
    _check_names(parts, experiments)
    note = NOTEBOOK_NOTE.format(modules=", ".join(f"`{config.parts[p].module}`" for p in config.part_names))
    return _interleave(experiments, parts, first_use, note)


def _interleave(
    experiments: list[LabCell], parts: dict[str, list[LabCell]], first_use: dict[str, int], note: str
) -> list[LabCell]:
    """Each part's cells before its first use; its check cell before the next section's heading."""
    floor = 1 if experiments and experiments[0].role == "markdown" else 0
    section_start = {}
    for part, use in first_use.items():
        start = use
        while start > floor and experiments[start - 1].role == "markdown":
            start -= 1
        section_start[part] = start
    cells: list[LabCell] = []
    open_parts: list[str] = []
    for index, cell in enumerate(experiments):
        starting = [p for p in parts if section_start[p] == index]
        if open_parts and starting:
            cells += [LabCell("check", "", p, f"check-{p}") for p in open_parts]
            open_parts = []
        for part in parts:
            if first_use[part] == index:
                cells += parts[part]
                open_parts.append(part)
        cells.append(cell)
        if index == 0 and cell.role == "markdown":
            cells.append(LabCell("markdown", note, None, "lab-note"))
    cells += [LabCell("check", "", p, f"check-{p}") for p in open_parts]
    return cells
