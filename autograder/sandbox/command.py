"""What to run in the sandbox: a plain argv, or Python code run by the grader's interpreter."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PythonEntry:
    """Python code to run in the sandbox with the grader's own interpreter (and packages).

    Give exactly one of `script`, `module` or `code`.

    Example:
        >>> PythonEntry(module="autograder.worker", args=("part_one",)).argv()[1:]
        ['-B', '-m', 'autograder.worker', 'part_one']

    Args:
        script: A Python file to run.
        module: A module to run as `python -m module`.
        code: Source to run as `python -c code`.
        args: Arguments after the script, module or code.
    """

    script: Path | None = None
    module: str | None = None
    code: str | None = None
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        given = [name for name in ("script", "module", "code") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"Expected exactly one of `script`, `module` or `code`. Received: {', '.join(given) or 'none'}"
            )

    def argv(self) -> list[str]:
        """The command line: the interpreter, `-B` (write no bytecode), the entry and its args."""
        if self.script is not None:
            entry = [str(self.script)]
        elif self.module is not None:
            entry = ["-m", self.module]
        else:
            entry = ["-c", str(self.code)]
        return [sys.executable, "-B", *entry, *map(str, self.args)]


def to_argv(command: Sequence[str] | PythonEntry) -> list[str]:
    """The argv of `command`, validated: a non-empty list of strings.

    Raises:
        TypeError: If `command` is neither a `PythonEntry` nor a sequence of strings.
    """
    if isinstance(command, PythonEntry):
        return command.argv()
    if isinstance(command, (str, bytes)) or not command or not all(isinstance(a, str) for a in command):
        raise TypeError(
            f"Expected a PythonEntry or a non-empty list of strings for `command`. Received: command={command!r}"
        )
    return list(command)
