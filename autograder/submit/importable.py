"""Import the student's modules in a separate Python process and look up their graded functions.

A module that fails to import scores nothing for its part, so `course submit` says so before
the student hands it in. The import runs in a subprocess (a crash or a hang cannot take the
command down) on a copy of the files, with a time limit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_TIMEOUT_S = 180.0

_PROBE = r"""
import importlib.util, json, sys, traceback
graded = json.loads(sys.argv[1])
report = {}
for module, functions in graded.items():
    try:
        spec = importlib.util.spec_from_file_location(module[:-3], module)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[module[:-3]] = loaded
        spec.loader.exec_module(loaded)
    except BaseException as exc:
        lines = traceback.format_exception_only(type(exc), exc)
        report[module] = {"error": "".join(lines).strip()}
        continue
    report[module] = {"missing": [f for f in functions if not callable(getattr(loaded, f, None))]}
print("COURSE-IMPORT-REPORT " + json.dumps(report))
"""


def import_problems(
    folder: Path, graded: Mapping[str, Sequence[str]], timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, str]:
    """Module -> what went wrong importing it or finding its graded functions (empty: all fine).

    Args:
        folder: the folder holding the modules (and any helper modules they import).
        graded: module file name -> its graded function names.
        timeout_s: the most seconds the import may take, for all modules together.
    """
    with tempfile.TemporaryDirectory(prefix="course-submit-import-") as scratch:
        copy = Path(scratch) / "lab"
        copy.mkdir()
        for path in Path(folder).glob("*.py"):
            shutil.copyfile(path, copy / path.name)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            done = subprocess.run(
                [sys.executable, "-c", _PROBE, json.dumps(dict(graded))],
                cwd=copy, env=env, capture_output=True, text=True, timeout=timeout_s, check=False,
            )
        except subprocess.TimeoutExpired:
            return {name: f"importing took more than {timeout_s:g} s" for name in graded}
    marker = [line for line in done.stdout.splitlines() if line.startswith("COURSE-IMPORT-REPORT ")]
    if not marker:
        tail = (done.stderr or done.stdout).strip()[-500:]
        return {name: f"the import process ended with exit status {done.returncode}: {tail}" for name in graded}
    report = json.loads(marker[-1].split(" ", 1)[1])
    problems = {}
    for name, entry in report.items():
        if "error" in entry:
            problems[name] = f"does not import: {entry['error']}"
        elif entry["missing"]:
            problems[name] = f"imports, but has no function {', '.join(entry['missing'])}"
    return problems
