"""Validated, immutable models of `course.yaml`.

Every model rejects unknown keys and is frozen, so a typo in `course.yaml` is an error
that names the key path instead of a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# A part's name: a Python identifier in lower case (it names folders, tests and gradebook columns).
PartName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class Frozen(BaseModel):
    """Base of every config model: immutable, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CourseInfo(Frozen):
    name: str
    lab: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str


class PathsConfig(Frozen):
    """Repository-relative locations, plus optional machine paths (null: use flags or env)."""

    solutions: str = "solutions/transfer_learning"
    release: str = "assignments/transfer_learning"
    data_dir: str | None = None
    weights_dir: str | None = None
    cache_dir: str | None = None


class DataConfig(Frozen):
    dataset: str = "cats_and_dogs_filtered"
    download_url: str
    hidden_test: str = "cats_and_dogs_extra"
    classes: tuple[str, str] = ("cats", "dogs")


class PartConfig(Frozen):
    title: str
    module: str = Field(pattern=r"^[a-z_]+\.py$")
    points: float = Field(gt=0)
    functions: tuple[str, ...] = Field(min_length=1)


class ScratchBudget(Frozen):
    image_size: int = Field(ge=32, le=512)
    epochs: int = Field(ge=1)
    dropout: float = Field(ge=0.0, lt=1.0)
    batch_size: int | None = Field(default=None, ge=1)  # None: the profile's batch_size


class BaseModelConfig(Frozen):
    architecture: Literal["MobileNetV2", "MobileNet"] = "MobileNetV2"
    alpha: float = Field(gt=0.0, le=1.4)
    image_size: int = Field(ge=32, le=224)


class TransferBudget(Frozen):
    epochs: int = Field(ge=1)
    learning_rate: float = Field(gt=0.0, lt=1.0)
    dropout: float = Field(ge=0.0, lt=1.0)


class FineTuneBudget(Frozen):
    epochs: int = Field(ge=1)
    fine_tune_at: int = Field(ge=0)
    learning_rate: float = Field(gt=0.0, lt=1.0)
    patience: int = Field(ge=1)


class TTAConfig(Frozen):
    resize_to: int = Field(ge=32, le=512)


class Profile(Frozen):
    """A grading budget: image sizes, how many images, epochs, batch size and base model."""

    description: str
    seed: int = 1337
    batch_size: int = Field(ge=1)
    train_images: int | None = Field(default=None, ge=2)
    validation_images: int | None = Field(default=None, ge=2)
    test_images: int | None = Field(default=None, ge=2)
    scratch: ScratchBudget
    base: BaseModelConfig
    transfer: TransferBudget
    fine_tuning: FineTuneBudget
    tta: TTAConfig
    worker_seconds: float = Field(default=300.0, gt=0)  # wall-clock limit of one part's sandboxed worker
    worker_memory_gb: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _tta_larger_than_crop(self) -> Profile:
        if self.tta.resize_to < self.base.image_size:
            raise ValueError(
                "Expected tta.resize_to >= base.image_size (the crops are cut from the resized "
                f"image). Received: tta.resize_to={self.tta.resize_to}, "
                f"base.image_size={self.base.image_size}"
            )
        return self


class CourseConfig(Frozen):
    course: CourseInfo
    paths: PathsConfig = PathsConfig()
    data: DataConfig
    parts: dict[PartName, PartConfig] = Field(min_length=1)
    profiles: dict[str, Profile]
    default_profile: str = "smoke"

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
                f"Unknown profile. Expected one of {sorted(self.profiles)}. Received: profile={name!r}"
            ) from None

    @property
    def part_names(self) -> tuple[str, ...]:
        """The lab's parts, in the order `course.yaml` lists them."""
        return tuple(self.parts)

    @property
    def total_points(self) -> float:
        return sum(p.points for p in self.parts.values())
