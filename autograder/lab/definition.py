"""A lab's `definition.py`: its runs, grading-time training, grader inputs and hooks.

The file is the lab's, in its folder (public: `course release` copies it). It must define:

- `RUNS`: the lab's training runs, in order, each a `Run` (name, label, published number,
  the fixture name checks ask for and the artifacts the grader trains it from);
- `Reference`: a `LabRunner` subclass with one method per run name, training the reference;
- `Grading`: a `SubmissionTrainer` subclass with one method per run that has a fixture, taking
  the run's `needs` (loaded artifacts) and returning a `TrainingCurve`;
- `PART_INPUTS`: part -> the files of the grader's worker folder that part's worker may read;
- `probe_settings(profile, weights_file) -> dict`: the values the probes are called with;
- `build_inputs(build)`: writes the grader's inputs (`build.worker`, `build.hidden`) for a
  profile, from the real data (`build.public` False) or from synthetic data (True).

and may define `WEIGHTS_PARTS` (the parts whose workers see pretrained weights), `MEASURED`
(name -> `Measured`: values the grader measures on a returned model),
`after_part(part, hook)` (a lab's own step once a part's worker is done) and `image_sizes(profile)`
(the sizes its runs load image splits at, decoded into the cache before a batch).

`probe_settings` is also called with `weights_file=None`: for the public checks' snapshot, which
`course release` makes by running the probes on the reference with randomly initialised bases
(the values it keeps, counts and trainable splits, do not depend on the weights).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

DEFINITION_FILE = "definition.py"
REQUIRED = ("RUNS", "Reference", "Grading", "PART_INPUTS", "probe_settings", "build_inputs")


@dataclass(frozen=True)
class Run:
    """One training run of a lab: trained for the reference table, calibrated, and graded.

    Args:
        name: the run's name (thresholds, curves and methods of `Reference`/`Grading` use it).
        label: how tables name it.
        published: a published accuracy for the same task ("-": none), and its `source`.
        fixture: the name checks ask for to get the submission's trained result (None: the
            run is not trained at grading).
        needs: the artifacts the grader trains the submission's run from, in the order
            `Grading.<name>` takes them.
        graded: whether its accuracy is calibrated and checked against a threshold.
    """

    name: str
    label: str
    published: str = "-"
    source: str = ""
    fixture: str | None = None
    needs: tuple[str, ...] = ()
    graded: bool = True


@dataclass(frozen=True)
class Measured:
    """A value the grader measures on a probe's returned model, never in the student's process.

    `measure(out_folder, grader_inputs_folder, seed)` returns what the checks get.
    """

    part: str
    probe: str
    measure: Callable[[Path, Path, int], object]
    kind: str = "measured by the grader on a returned model"


class LabDefinition:
    """A lab's definition module, validated, with what the engine derives from it."""

    def __init__(self, module: ModuleType, source: Path) -> None:
        missing = [name for name in REQUIRED if not hasattr(module, name)]
        if missing:
            raise ValueError(f"{source}: expected the lab definition to define {list(REQUIRED)}. Missing: {missing}")
        self.module, self.source = module, Path(source)
        self.runs: tuple[Run, ...] = tuple(module.RUNS)
        bad = [run for run in self.runs if not isinstance(run, Run)]
        if bad:
            raise ValueError(f"{source}: expected RUNS to hold Run(...) entries. Received: {bad[:2]}")
        names = [run.name for run in self.runs]
        if len(set(names)) != len(names):
            raise ValueError(f"{source}: expected distinct run names. Received: {names}")
        for run in self.runs:
            if not callable(getattr(module.Reference, run.name, None)):
                raise ValueError(f"{source}: expected Reference.{run.name}() for run {run.name!r}. Received: none")
            if run.fixture and not callable(getattr(module.Grading, run.name, None)):
                raise ValueError(f"{source}: expected Grading.{run.name}(...) for run {run.name!r}. Received: none")
        self.part_inputs: dict[str, tuple[str, ...]] = {p: tuple(files) for p, files in module.PART_INPUTS.items()}
        self.weights_parts: tuple[str, ...] = tuple(getattr(module, "WEIGHTS_PARTS", ()))
        self.measured: dict[str, Measured] = dict(getattr(module, "MEASURED", {}))
        self.reference_runner = module.Reference
        self.submission_trainer = module.Grading
        self.probe_settings = module.probe_settings
        self.build_inputs = module.build_inputs
        self.after_part = getattr(module, "after_part", None)
        # The image sizes the lab's runs load its splits at (decoded into the cache before a batch).
        self.image_sizes = getattr(module, "image_sizes", None)

    @property
    def run_names(self) -> tuple[str, ...]:
        return tuple(run.name for run in self.runs)

    @property
    def graded_runs(self) -> tuple[str, ...]:
        """The runs whose accuracy is calibrated and checked against a threshold."""
        return tuple(run.name for run in self.runs if run.graded)

    @property
    def trained(self) -> dict[str, Run]:
        """fixture name -> the run the grader trains for it."""
        return {run.fixture: run for run in self.runs if run.fixture}

    def run(self, name: str) -> Run:
        for run in self.runs:
            if run.name == name:
                return run
        raise KeyError(f"Unknown run. Expected one of {list(self.run_names)}. Received: {name!r}")

    def label(self, name: str) -> str:
        return next((run.label for run in self.runs if run.name == name), name)

    def order(self, name: str) -> int:
        """A run's place in the lab's order (unknown names last)."""
        names = self.run_names
        return names.index(name) if name in names else len(names)


_CACHE: dict[tuple[str, str], LabDefinition] = {}


def load_definition(folder: Path | str) -> LabDefinition:
    """Import `<folder>/definition.py` (once per file content) and validate it.

    Raises:
        FileNotFoundError: the folder has no definition file (the message names the path).
        ValueError: the file lacks something the engine needs (the message names it).
    """
    from autograder.training.lab_modules import import_module_from  # noqa: PLC0415

    path = Path(folder) / DEFINITION_FILE
    if not path.is_file():
        raise FileNotFoundError(f"Expected the lab's definition in {path}. Received: no such file")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    key = (str(path.resolve()), digest)
    if key not in _CACHE:
        _CACHE[key] = LabDefinition(import_module_from(path, f"lab_definition_{digest}"), path)
    return _CACHE[key]
