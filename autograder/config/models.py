"""Validated, immutable models of `course.yaml`.

Every model rejects unknown keys and is frozen, so a typo in `course.yaml` is an error
that names the key path instead of a silently ignored setting.

The file describes a course: its labs (`labs:`), the profiles they share and this machine's
paths. `load_config(path, lab)` returns the view of ONE lab that every verb works with
(`CourseConfig`): the lab's parts and data, its paths (templated with `{lab}`), and each
profile with the course's shared settings and the lab's budget merged, typed by the lab's own
`Profile` model when its `definition.py` declares one.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# A part's or lab's name: a Python identifier in lower case (it names folders, tests and gradebook columns).
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
PartName = Name


class Frozen(BaseModel):
    """Base of every config model: immutable, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CourseInfo(Frozen):
    """The course's name and the lab a command works on (one lab's view)."""

    name: str
    lab: Name
    title: str
    leaderboard: bool = False  # results.json carries Gradescope's `leaderboard` (hidden-split accuracies)


class PathsConfig(Frozen):
    """Repository-relative locations, plus optional machine paths (null: use flags or env)."""

    solutions: str | None = "solutions/{lab}"  # null: a student kit's course file (no solutions, no grading)
    release: str = "assignments/{lab}"
    data_dir: str | None = None
    weights_dir: str | None = None
    cache_dir: str | None = None


class DataConfig(Frozen):
    """A lab's image-folder dataset (Kaggle layout) and its hidden test folder."""

    dataset: str
    download_url: str
    hidden_test: str | None = None  # null: a student kit's course file (the hidden split is the grader's)
    classes: tuple[str, ...] = Field(min_length=2)


class PartConfig(Frozen):
    title: str
    module: str = Field(pattern=r"^[a-z_]+\.py$")
    points: float = Field(gt=0)
    functions: tuple[str, ...] = Field(min_length=1)


class Profile(BaseModel):
    """A grading budget: what every lab's profile has; a lab's own `Profile` subclass adds its budget.

    Without a lab model the lab's sections are kept as given (extra keys are allowed here only).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    description: str
    seed: int = 1337
    batch_size: int = Field(ge=1)
    train_images: int | None = Field(default=None, ge=2)
    validation_images: int | None = Field(default=None, ge=2)
    test_images: int | None = Field(default=None, ge=2)
    worker_seconds: float = Field(default=300.0, gt=0)  # wall-clock limit of one part's sandboxed worker
    worker_memory_gb: float = Field(default=4.0, gt=0)
    gpus: int = Field(default=0, ge=0)  # GPUs one grading job uses (`course slurm grade` asks for them per task)
    # Set on a profile's `offline_fallback` (course.yaml): the profile it stands in for where that
    # profile's pretrained weights are not on this machine. Its own calibration file (`<name>-offline.json`).
    fallback_for: str | None = None

    def budget_json(self) -> str:
        """The profile as JSON without what only says where it runs (`gpus`, `fallback_for`): what calibrations
        and the grader's cached inputs are keyed by, so asking for a GPU changes neither."""
        return self.model_dump_json(exclude=set(PLACEMENT_ONLY))


PLACEMENT_ONLY = ("gpus", "fallback_for")  # not budget: where a profile runs, what it stands in for


class SharedProfile(Frozen):
    """A profile as the course declares it for every lab: what it is for, its seed, the sandbox limits."""

    description: str
    seed: int = 1337
    worker_seconds: float = Field(default=300.0, gt=0)
    worker_memory_gb: float = Field(default=4.0, gt=0)
    gpus: int = Field(default=0, ge=0)  # GPUs one grading job uses (`course slurm grade` asks for them per task)


class LabEntry(Frozen):
    """One lab of the course: its title, data, parts and its budget for each profile it offers."""

    title: str
    data: DataConfig | None = None
    parts: dict[PartName, PartConfig] = Field(min_length=1)
    profiles: dict[str, dict[str, Any]] = Field(min_length=1)


class CourseInfoFile(Frozen):
    name: str
    default_lab: Name | None = None
    leaderboard: bool = False


class CourseFile(Frozen):
    """`course.yaml` as written: the course, shared profiles, machine paths and its labs."""

    course: CourseInfoFile
    paths: PathsConfig = PathsConfig()
    default_profile: str = "smoke"
    profiles: dict[str, SharedProfile] = Field(min_length=1)
    labs: dict[Name, LabEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> CourseFile:
        if self.course.default_lab is not None and self.course.default_lab not in self.labs:
            raise ValueError(
                f"Expected course.default_lab to name one of {sorted(self.labs)}. Received: default_lab={self.course.default_lab!r}"
            )
        for lab, entry in self.labs.items():
            unknown = sorted(set(entry.profiles) - set(self.profiles))
            if unknown:
                raise ValueError(
                    f"Expected labs.{lab}.profiles to name profiles of the course {sorted(self.profiles)}. Received: {unknown}"
                )
        return self


class CourseConfig(Frozen):
    """One lab's view of the course: what every verb works with."""

    course: CourseInfo
    paths: PathsConfig = PathsConfig()
    data: DataConfig | None = None
    parts: dict[PartName, PartConfig] = Field(min_length=1)
    profiles: dict[str, Profile]
    # profile -> the settings used instead where its base's weights are not on this machine
    offline_fallbacks: dict[str, Profile] = {}
    default_profile: str = "smoke"
    labs: tuple[str, ...] = ()  # every lab of the course, for listings

    @model_validator(mode="after")
    def _complete(self) -> CourseConfig:
        if self.default_profile not in self.profiles:
            raise ValueError(
                f"Expected default_profile to name one of {sorted(self.profiles)}. "
                f"Received: default_profile={self.default_profile!r}"
            )
        return self

    def profile(self, name: str) -> Profile:
        """Return the named profile, or raise a KeyError that lists the known ones."""
        try:
            return self.profiles[name]
        except KeyError:
            raise KeyError(
                f"Unknown profile for lab {self.course.lab!r}. Expected one of {sorted(self.profiles)}. Received: profile={name!r}"
            ) from None

    @property
    def part_names(self) -> tuple[str, ...]:
        """The lab's parts, in the order `course.yaml` lists them."""
        return tuple(self.parts)

    @property
    def total_points(self) -> float:
        return sum(p.points for p in self.parts.values())
