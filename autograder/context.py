"""One object holding what every verb needs: the course config and this machine's locations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.bases import resolve_weights
from autograder.config import CourseConfig, Locations, Profile, find_config, load_config, resolve_locations
from autograder.data import ImageSet, load_split


@dataclass
class CourseContext:
    """The loaded `course.yaml` and the resolved data, weights and cache folders."""

    config_path: Path
    config: CourseConfig
    locations: Locations
    download: bool = True
    _splits: dict[tuple[str, str, int], ImageSet] = field(default_factory=dict, repr=False)

    @classmethod
    def create(
        cls,
        config: str | os.PathLike | None = None,
        data_dir: str | os.PathLike | None = None,
        weights_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        download: bool = True,
    ) -> CourseContext:
        path = find_config(config)
        course = load_config(path)
        return cls(path, course, resolve_locations(path, course, data_dir, weights_dir, cache_dir), download)

    def profile(self, name: str | None = None) -> Profile:
        return self.config.profile(name or self.config.default_profile)

    @property
    def solutions_dir(self) -> Path:
        return self.locations.root / self.config.paths.solutions

    @property
    def release_dir(self) -> Path:
        return self.locations.root / self.config.paths.release

    def definition(self, public: bool = False):
        """The lab's definition (`definition.py`): the solutions' copy, or the release's when `public`."""
        from autograder.config import ConfigError  # noqa: PLC0415
        from autograder.lab import load_definition  # noqa: PLC0415

        definition = load_definition(self.release_dir if public else self.solutions_dir)
        defined, listed = list(definition.part_inputs), list(self.config.parts)
        if sorted(defined) != sorted(listed):
            raise ConfigError(
                f"{self.config_path}: expected `parts` to list the parts the lab defines {defined} ({definition.source}). "
                f"Missing: {[p for p in defined if p not in listed]}; unknown: {[p for p in listed if p not in defined]}"
            )
        return definition

    def reference_modules(self, prefix: str = "reference"):
        """The reference solution's graded modules, imported under `prefix` (trusted code only)."""
        from autograder.training.lab_modules import load_lab_modules  # noqa: PLC0415

        return load_lab_modules(self.solutions_dir, self.config.parts, prefix=prefix)

    def weights_file(self, profile: Profile) -> Path:
        base = profile.base
        return resolve_weights(
            base.architecture, base.alpha, base.image_size, self.locations.weights_dir, self.download
        )

    def split_loader(self, profile: Profile):
        """A memoised `(split, image_size) -> ImageSet` for this profile's subsets."""

        def load(split: str, image_size: int) -> ImageSet:
            key = (profile.description, split, image_size)
            if key not in self._splits:
                self._splits[key] = load_split(
                    self.config, self.locations, profile, split, image_size, download=self.download
                )
            return self._splits[key]

        return load
