"""The reference's side of every check: the lab's own probes, run on the reference modules.

The grader does not rebuild the reference's models by hand. When it prepares a profile's inputs,
it runs every probe of every part on the reference solution, exactly as a submission's worker
would (trusted code, so in a plain subprocess), and keeps the artifacts with the grader-only
inputs. A check that asks for `reference` then reads `reference.<fixture>` through the same
loaders as the submission's `<fixture>`: one call protocol, one source for expected values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.checks.result import CheckFailure
from autograder.probes.protocol import REPORT, ProbeRequest

FOLDER = "reference"


class ReferenceRunError(RuntimeError):
    """A probe failed on the reference solution: the lab is broken, not a submission."""


def run_reference_probes(
    parts: dict[str, Path], inputs: dict[str, Path], out: Path, settings: dict, probes_file: Path, jobs: int = 2
) -> None:
    """Run every probe of each part on the reference module `parts[part]` into `out/<part>/`.

    Raises:
        ReferenceRunError: a probe failed on the reference (naming the part, probe and error).
    """

    def run(part: str) -> None:
        folder = out / part
        folder.mkdir(parents=True)
        with tempfile.TemporaryDirectory(prefix="course-reference-") as scratch:
            request = Path(scratch) / "request.json"
            ProbeRequest(part, str(parts[part]), str(inputs[part]), str(folder), settings, None, str(probes_file)).write(request)
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
            done = subprocess.run(
                [sys.executable, "-m", "autograder.probes.worker", str(request)],
                capture_output=True, text=True, env=env, cwd=scratch, check=False,
            )
        report = folder / REPORT
        if not report.is_file():
            raise ReferenceRunError(f"The reference's {part} probes did not run (exit {done.returncode}): {done.stderr[-2000:]}")
        failures = [o for o in json.loads(report.read_text())["outcomes"] if not o["ok"]]
        if failures:
            first = failures[0]
            raise ReferenceRunError(f"Probe {first['name']} failed on the reference's {part} module:\n{str(first['error'])[-2000:]}")

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(pool.map(run, parts))


class ReferenceOutputs:
    """`reference.<name>`: the reference's value of fixture `name`, read from its probe outputs."""

    def __init__(self, folder: Path, artifacts: dict) -> None:
        self.folder = Path(folder)
        self.artifacts = artifacts  # name -> fixtures.Artifact
        self._values: dict[str, object] = {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._values:
            if name not in self.artifacts:
                raise CheckFailure(
                    f"Expected `reference.{name}` to name a probe artifact. Received: no such artifact "
                    "(a mistake in the check, not in the submission; see `course checks --fixtures`)"
                )
            artifact = self.artifacts[name]
            self._values[name] = artifact.load(self.folder / artifact.part)
        return self._values[name]
