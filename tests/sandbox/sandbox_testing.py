"""Helpers for the sandbox tests: a throwaway course layout and a way to find leftover processes.

The layout mimics grading: a submission folder (the code's `workdir`), a course folder it may
read with a `solutions/` folder and a `hidden_key.txt` inside that it must not, and a fresh
output folder.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import IsolationLevel, Limits, PythonEntry, SandboxResult, run_sandboxed
from autograder.sandbox.isolation import reachable_by_others

SECRET = "the-hidden-solution-4242"
SYSTEM_PYTHON = "/usr/bin/python3"
FAST = Limits(wall_time_s=10, memory_bytes=512 * 1024 * 1024, max_processes=64, poll_interval_s=0.05)


@dataclass
class Box:
    """One test's sandbox inputs, and a `run(code)` that runs Python code inside them."""

    level: IsolationLevel
    root: Path
    workdir: Path = field(init=False)
    course: Path = field(init=False)
    hidden_dir: Path = field(init=False)
    hidden_file: Path = field(init=False)
    out: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir = self.root / "submission"
        self.course = self.root / "course"
        self.hidden_dir = self.course / "solutions"
        self.hidden_file = self.course / "hidden_key.txt"
        self.out = self.root / "out"
        for folder in (self.workdir, self.hidden_dir, self.out):
            folder.mkdir(parents=True)
        (self.workdir / "student.py").write_text("ANSWER = 42\n")
        (self.course / "public.txt").write_text("public data\n")
        (self.hidden_dir / "solution.py").write_text(f"SECRET = {SECRET!r}\n")
        self.hidden_file.write_text(SECRET)
        for path in (self.root, self.workdir, self.course, self.hidden_dir):
            path.chmod(0o755)  # readable by the per-run user, as real course folders are
        for path in (self.workdir / "student.py", self.course / "public.txt"):
            path.chmod(0o644)

    def run(self, code: str, limits: Limits = FAST, **kwargs) -> SandboxResult:
        """Run `code` with the grader's Python in this box at this test's isolation level.

        The plain level as root runs the code under a user id of its own, which cannot reach a
        Python installed under a private home (/root/.pyenv): it then gets the system Python.
        """
        command: PythonEntry | list[str] = PythonEntry(code=code)
        if self.level is IsolationLevel.PLAIN and os.geteuid() == 0 and not reachable_by_others(sys.executable):
            command = [SYSTEM_PYTHON, "-B", "-c", code]
        return run_sandboxed(
            command,
            workdir=self.workdir,
            readable=[self.course],
            writable_out=self.out,
            hidden=[self.hidden_dir, self.hidden_file],
            limits=limits,
            isolation_level=self.level,
            **kwargs,
        )


def processes_with(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line contains `marker`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            state = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in (b"Z", b"X"):
            found.append(int(name))
    return found
