"""What the student notebook imports: the training data (never the hidden test split) and profiles."""

from __future__ import annotations

import os

from autograder.config import Profile
from autograder.context import CourseContext
from autograder.data import ImageSet


def lab_profile(name: str | None = None) -> Profile:
    """The named profile from `course.yaml` (default: the course's default profile)."""
    return CourseContext.create().profile(name)


def load_training_data(
    image_size: int, profile: str | None = None, data_dir: str | os.PathLike | None = None
) -> tuple[ImageSet, ImageSet]:
    """The profile's train and validation images at `image_size`, as (images uint8, labels) sets."""
    ctx = CourseContext.create(data_dir=data_dir)
    chosen = ctx.profile(profile)
    load = ctx.split_loader(chosen)
    return load("train", image_size), load("validation", image_size)


def imagenet_weights(profile: str | None = None) -> str:
    """A local ImageNet weight file for the profile's base (offline first, else downloaded)."""
    ctx = CourseContext.create()
    return str(ctx.weights_file(ctx.profile(profile)))


def lab_runs(lab: str | None = None) -> list[dict[str, str]]:
    """The lab's training runs as its definition declares them: name, label, published number, source."""
    ctx = CourseContext.create(lab=lab)
    return [
        {"name": run.name, "label": run.label, "published": run.published, "source": run.source}
        for run in ctx.definition().runs
    ]
