"""What a submission's module is before anything of it runs: missing, unparsable, or fine.

The grader reads each part's module as text (never importing it) so that a missing file or a
syntax error costs that part with one clear message, the same in every check of the part, and no
sandbox starts for it. The module is parsed exactly as Python's import would (bytes, with the
encoding cookie or BOM it declares), so a module this finds fine is one the worker can import,
and one it refuses is one the worker would fail to import.
"""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

MAX_MODULE_BYTES = 8 * 1024 * 1024


def module_problem(folder: Path, module: str) -> str | None:
    """None when `folder/module` is a plain file Python can parse; else one line saying why not."""
    path = Path(folder) / module
    try:
        info = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return f"{module} is missing from the submission"
    except OSError as exc:
        return f"{module} cannot be read ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return f"{module} is not a plain file"
    if info.st_size > MAX_MODULE_BYTES:
        return f"{module} is larger than {MAX_MODULE_BYTES // 2**20} MiB"
    try:
        source = path.read_bytes()
    except OSError as exc:
        return f"{module} cannot be read ({exc.strerror})"
    try:
        compile(source, module, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and bad encodings included
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return f"{module} does not parse ({where}{exc.msg})"
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. a null byte, or nesting too deep
        return f"{module} does not parse ({type(exc).__name__}: {str(exc)[:120]})"
    return None
