"""One object holding what every verb needs: the course config and this machine's locations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.bases import resolve_weights
from autograder.config import CourseConfig, Locations, Profile, find_config, load_config, resolve_locations
from autograder.data import ImageSet, load_split


def _base_text(profile: Profile) -> str:
    base = profile.base
    return f"{base.architecture} alpha {base.alpha} at {base.image_size} px"


@dataclass
class CourseContext:
    """The loaded `course.yaml` and the resolved data, weights and cache folders."""

    config_path: Path
    config: CourseConfig
    locations: Locations
    download: bool = True
    _splits: dict[tuple[str, str, int], ImageSet] = field(default_factory=dict, repr=False)
    _fallback_said: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def create(
        cls,
        config: str | os.PathLike | None = None,
        data_dir: str | os.PathLike | None = None,
        weights_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        download: bool = True,
        lab: str | None = None,
    ) -> CourseContext:
        """The course file (found as `find_config` does) seen from one lab (`--lab`, `$COURSE_LAB`, ...)."""
        path = find_config(config)
        course = load_config(path, lab)
        return cls(path, course, resolve_locations(path, course, data_dir, weights_dir, cache_dir), download)

    def profile(self, name: str | None = None) -> Profile:
        """The named profile as this machine runs it: its `offline_fallback` settings (course.yaml) where
        the profile's pretrained weights are not here but the fallback's are (said once, on stderr)."""
        name = name or self.config.default_profile
        profile = self.config.profile(name)
        fallback = self.config.offline_fallbacks.get(name)
        if fallback is None or self._weights_here(profile) or not self._weights_here(fallback):
            return profile
        if name not in self._fallback_said:
            self._fallback_said.add(name)
            import sys  # noqa: PLC0415

            print(
                f"Profile {name!r}: no {_base_text(profile)} weights in {self.locations.weights_dir or 'the Keras cache'}; "
                f"using its offline fallback ({_base_text(fallback)}, course.yaml labs.{self.lab}.profiles.{name}.offline_fallback), "
                "which has calibrations of its own (calibration/<profile>-offline*.json).",
                file=sys.stderr,
            )
        return fallback

    def _weights_here(self, profile: Profile) -> bool:
        """Whether the profile's base weights are on this machine (no download)."""
        from autograder.bases import WeightsNotFoundError  # noqa: PLC0415

        base = getattr(profile, "base", None)
        if base is None:
            return True
        try:
            resolve_weights(base.architecture, base.alpha, base.image_size, self.locations.weights_dir, download=False)
        except WeightsNotFoundError:
            return False
        return True

    @property
    def has_solutions(self) -> bool:
        """Whether this course file names the lab's solutions (a student kit's does not)."""
        return self.config.paths.solutions is not None

    @property
    def solutions_dir(self) -> Path:
        """The lab's solutions folder. Raises ConfigError for a student kit's course file, which has none."""
        if self.config.paths.solutions is None:
            from autograder.config import ConfigError  # noqa: PLC0415

            raise ConfigError(
                f"{self.config_path} is a student course file (paths.solutions is null): this needs the "
                "instructor's course.yaml, with the lab's solutions and hidden checks."
            )
        return self.locations.root / self.config.paths.solutions

    @property
    def release_dir(self) -> Path:
        return self.locations.root / self.config.paths.release

    @property
    def lab(self) -> str:
        return self.config.course.lab

    def definition(self, public: bool | None = None):
        """The lab's definition (`definition.py`): the solutions' copy, the release's when `public`
        (default: the solutions' where there are solutions, as on a student's machine there are not)."""
        from autograder.config import ConfigError  # noqa: PLC0415
        from autograder.lab import DEFINITION_FILE, load_definition  # noqa: PLC0415

        if public is None:
            public = not (self.has_solutions and (self.solutions_dir / DEFINITION_FILE).is_file())
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

    def weights_file(self, profile: Profile) -> Path | None:
        """The ImageNet weight file of the profile's pretrained `base` (None for a lab without one)."""
        base = getattr(profile, "base", None)
        if base is None:
            return None
        return resolve_weights(
            base.architecture, base.alpha, base.image_size, self.locations.weights_dir, self.download
        )

    def has_hidden_split(self) -> bool:
        """Whether the grader can read the hidden test split here (a student's machine cannot)."""
        from autograder.data import DataNotFoundError, locate_hidden_test  # noqa: PLC0415

        if getattr(self.definition().module, "load_split", None) is not None:
            return True
        try:
            locate_hidden_test(self.config, self.locations)
        except DataNotFoundError:
            return False
        return True

    def split_loader(self, profile: Profile):
        """A memoised `(split, image_size) -> ImageSet` for this profile's subsets."""

        lab_loader = getattr(self.definition().module, "load_split", None)

        def load(split: str, image_size: int) -> ImageSet:
            key = (profile.description, split, image_size)
            if key not in self._splits:
                if lab_loader is not None:  # a lab whose data is not an image folder
                    self._splits[key] = lab_loader(profile, split, image_size)
                else:
                    self._splits[key] = load_split(
                        self.config, self.locations, profile, split, image_size, download=self.download
                    )
            return self._splits[key]

        return load
