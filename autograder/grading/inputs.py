"""What the grader prepares once per profile and shares across submissions.

The lab's `definition.py` writes the files (`build_inputs`): `worker/` holds only what student
code may read, `hidden/` what only the grader reads (the hidden split's labels, features the
grader applies returned classifiers to, the reference's outputs). Each part's worker reads only
its own folder (the lab's `PART_INPUTS`), and only the lab's `WEIGHTS_PARTS` see pretrained
weights. Every probe is then run on the reference modules (`hidden/reference/`): the expected
side of every check.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows: no locking; the grader's sandbox needs Linux anyway)
    fcntl = None

from autograder.config import Profile
from autograder.context import CourseContext
from autograder.training.seeding import seed_everything

INPUTS_VERSION = 5
PROBES_FOLDER = "lab"  # under `worker/`: the lab's probes file, copied for every worker


@dataclass(frozen=True)
class GradingInputs:
    """Folders and settings for one profile: `worker` is readable by student code, `hidden` is not."""

    root: Path
    profile_name: str
    profile: Profile
    settings: dict
    weights_parts: tuple[str, ...] = ()  # the parts whose workers see the pretrained weights

    @property
    def worker(self) -> Path:
        return self.root / "worker"

    @property
    def hidden(self) -> Path:
        return self.root / "hidden"

    def worker_for(self, part: str) -> Path:
        """The inputs one part's worker may read (never another part's answers)."""
        return self.worker / part

    @property
    def keras_home(self) -> Path:
        return self.worker / "keras"

    @property
    def probes_dir(self) -> Path:
        """The folder of the lab's probes file, readable by every worker (public grader code)."""
        return self.worker / PROBES_FOLDER

    @property
    def probes_file(self) -> Path:
        from autograder.probes.declare import PROBES_FILE  # noqa: PLC0415

        return self.probes_dir / PROBES_FILE


@dataclass
class InputsBuild:
    """What a lab's `build_inputs(build)` works with: the profile, its folders and the grader's data.

    `public` is True for the inputs of `course check` on a student's machine: no solutions, no
    dataset; the lab then makes the same files from synthetic data.
    """

    profile: Profile
    settings: dict
    worker: Path
    hidden: Path
    weights_file: Path | None
    public: bool
    load: Callable | None = None  # the grader's split loader (None when public)
    _reference_modules: Callable | None = field(default=None, repr=False)
    _reference_runner: Callable | None = field(default=None, repr=False)

    def reference_modules(self):
        """The reference solution's modules (never available when public)."""
        if self._reference_modules is None:
            raise RuntimeError("The public inputs are built without the reference solution")
        return self._reference_modules()

    def reference_runner(self):
        """The lab's `Reference` runner on the grader's data (never available when public)."""
        if self._reference_runner is None:
            raise RuntimeError("The public inputs are built without the reference solution")
        return self._reference_runner()


def copy_probes(source: Path, worker: Path) -> Path:
    """Put the lab's probes file where every worker can read it; returns the copy."""
    from autograder.probes.declare import PROBES_FILE  # noqa: PLC0415

    if not Path(source).is_file():
        raise FileNotFoundError(f"Expected the lab's probes in {source}. Received: no such file")
    folder = worker / PROBES_FOLDER
    folder.mkdir(exist_ok=True)
    shutil.copyfile(source, folder / PROBES_FILE)
    return folder / PROBES_FILE


def shuffled(seed: int, *arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays' rows in one seeded random order (the same order for each)."""
    order = np.random.default_rng(seed).permutation(len(arrays[0]))
    return [np.asarray(a)[order] for a in arrays]


def split_by_part(worker: Path, part_inputs: dict[str, tuple[str, ...]]) -> None:
    """One folder per part holding (hard links to) the files that part's worker may read."""
    for part, names in part_inputs.items():
        folder = worker / part
        folder.mkdir()
        for name in names:
            if not (worker / name).is_file():
                raise FileNotFoundError(f"Expected the lab's build_inputs to write {name} for part {part!r}. Received: no such file")
            os.link(worker / name, folder / name) if hasattr(os, "link") else shutil.copyfile(worker / name, folder / name)


def build_folder(
    root: Path, definition, profile: Profile, settings: dict, weights_file: Path | None, probes_source: Path, *,
    public: bool, load=None, reference_modules=None, reference_runner=None,
) -> Path:
    """Make `root/worker` and `root/hidden` with the lab's `build_inputs`; returns the probes' copy."""
    worker, hidden = root / "worker", root / "hidden"
    worker.mkdir(parents=True)
    hidden.mkdir(parents=True)
    probes_file = copy_probes(probes_source, worker)
    seed_everything(profile.seed)
    definition.build_inputs(
        InputsBuild(profile, settings, worker, hidden, weights_file, public, load, reference_modules, reference_runner)
    )
    split_by_part(worker, definition.part_inputs)
    return probes_file


def _digest(ctx: CourseContext, profile: Profile) -> str:
    if ctx.has_solutions:
        solution_files = sorted(ctx.solutions_dir.glob("*.py"))
    else:  # a student kit: the lab's public grader code (never the student's modules, edited between runs)
        from autograder.lab import DEFINITION_FILE  # noqa: PLC0415
        from autograder.probes.declare import PROBES_FILE  # noqa: PLC0415

        solution_files = [ctx.release_dir / name for name in (DEFINITION_FILE, PROBES_FILE) if (ctx.release_dir / name).is_file()]
    digest = hashlib.sha256(f"{INPUTS_VERSION}|{profile.budget_json()}".encode())
    for path in solution_files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _build(ctx: CourseContext, profile: Profile, root: Path, weights_file: Path) -> None:
    from autograder.grading.reference_outputs import FOLDER, run_reference_probes  # noqa: PLC0415
    from autograder.probes.declare import PROBES_FILE  # noqa: PLC0415

    definition = ctx.definition()
    load = ctx.split_loader(profile)
    settings = definition.probe_settings(profile, weights_file)
    modules = {}

    def reference_modules():
        if "lab" not in modules:
            modules["lab"] = ctx.reference_modules("grading_reference")
        return modules["lab"]

    def reference_runner():
        return definition.reference_runner(reference_modules(), profile, load, weights_file)

    probes_file = build_folder(
        root, definition, profile, settings, weights_file, ctx.solutions_dir / PROBES_FILE, public=False, load=load,
        reference_modules=reference_modules, reference_runner=reference_runner,
    )
    # Grader only: every probe run on the reference modules, the expected side of the checks.
    worker = root / "worker"
    files = {part: ctx.solutions_dir / spec.module for part, spec in ctx.config.parts.items()}
    run_reference_probes(files, {part: worker / part for part in files}, root / "hidden" / FOLDER, settings, probes_file)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (a no-op where the OS has no `fcntl`)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a", encoding="utf-8") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(root: Path, build: Callable[[Path], None], marker: dict) -> bool:
    """Build the cache folder `root` with `build(staging)` unless it is complete; True if built here.

    Processes that need the same folder at once (the jobs of `course grade --jobs N`, two
    batches) take turns on a lock: the first builds, the others wait and reuse its folder. A
    complete folder is never deleted, since another process may be reading it.
    """
    complete = root / "complete.json"
    if complete.is_file():
        return False
    with _exclusive(root.with_name(root.name + ".lock")):
        if complete.is_file():
            return False
        staging = root.with_name(root.name + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            build(staging)
            (staging / "complete.json").write_text(json.dumps(marker))
            shutil.rmtree(root, ignore_errors=True)  # an incomplete leftover of a killed run
            os.replace(staging, root)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return True


def prepare_inputs(ctx: CourseContext, profile_name: str, console=None) -> GradingInputs:
    """Build (or reuse from the cache) the grading inputs of a profile."""
    profile = ctx.profile(profile_name)
    weights_file = ctx.weights_file(profile)
    variant = "" if ctx.has_hidden_split() else "-public"
    root = ctx.locations.cache_dir / "grading" / f"{ctx.lab}-{profile_name}-{_digest(ctx, profile)}{variant}"

    def build(staging: Path) -> None:
        if console is not None:
            console.print(f"Preparing the grader's inputs for profile {profile_name!r} (once; cached in {root})")
        _build(ctx, profile, staging, weights_file)

    build_once(root, build, {"profile": profile_name})
    definition = ctx.definition()
    return GradingInputs(root, profile_name, profile, definition.probe_settings(profile, weights_file), definition.weights_parts)
