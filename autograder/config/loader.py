"""Load `course.yaml` into a `CourseConfig`, with errors that name the file, key path and value."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from autograder.config.models import CourseConfig, CourseFile, CourseInfo

CONFIG_ENV = "COURSE_CONFIG"
CONFIG_NAME = "course.yaml"


class ConfigError(ValueError):
    """`course.yaml` is missing, unreadable or invalid."""


def _format_validation_error(path: Path, error: ValidationError, prefix: str = "") -> str:
    lines = [f"Invalid course configuration in {path}:"]
    for item in error.errors():
        key = ".".join([prefix] * bool(prefix) + [str(part) for part in item["loc"]]) or "<top level>"
        received = item.get("input")
        if item["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key. Received: {key}={received!r}")
        elif item["type"] == "missing":
            lines.append(f"  {key}: required key is missing")
        else:
            lines.append(f"  {key}: {item['msg']}. Received: {key}={received!r}")
    return "\n".join(lines)


def find_config(explicit: str | os.PathLike | None = None) -> Path:
    """Locate `course.yaml`: an explicit path, `$COURSE_CONFIG`, then the current folder and its parents."""
    candidate = explicit or os.environ.get(CONFIG_ENV)
    if candidate:
        path = Path(candidate).expanduser()
        if not path.is_file():
            raise ConfigError(f"Expected a course.yaml file. Received: config={str(path)!r} (not a file)")
        return path.resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    packaged = Path(__file__).resolve().parents[2] / CONFIG_NAME
    if packaged.is_file():
        return packaged
    raise ConfigError(
        f"No {CONFIG_NAME} found in {here} or its parents. Pass --config or set ${CONFIG_ENV}."
    )


LAB_ENV = "COURSE_LAB"


def _read(file: Path) -> dict:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Invalid YAML in {file}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Expected a mapping at the top level of {file}. Received: {type(raw).__name__}")
    return raw


def read_course_file(file: Path) -> CourseFile:
    """`course.yaml` as written (every lab), validated; ConfigError names the key path and value."""
    try:
        return CourseFile.model_validate(_read(file))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(file, exc)) from None


def _lab_folders(course: CourseFile, root: Path, lab: str) -> tuple[Path | None, Path]:
    """The lab's solutions folder (None in a student kit's course file) and its release folder."""
    release = Path(course.paths.release.format(lab=lab))
    release = release if release.is_absolute() else root / release
    if course.paths.solutions is None:
        return None, release
    solutions = Path(course.paths.solutions.format(lab=lab))
    return (solutions if solutions.is_absolute() else root / solutions), release


def choose_lab(course: CourseFile, root: Path, lab: str | None = None) -> str:
    """The lab a command works on: `--lab`, `$COURSE_LAB`, the lab folder we are in, `course.default_lab`, the only lab."""
    names = sorted(course.labs)
    chosen = lab or os.environ.get(LAB_ENV)
    if chosen:
        if chosen not in course.labs:
            raise ConfigError(f"Unknown lab. Expected one of {names}. Received: lab={chosen!r}")
        return chosen
    here = Path.cwd().resolve()
    for name in names:
        folders = [folder.resolve() for folder in _lab_folders(course, root, name) if folder is not None]
        if any(folder == here or folder in here.parents for folder in folders):
            return name
    if course.course.default_lab:
        return course.course.default_lab
    if len(names) == 1:
        return names[0]
    raise ConfigError(f"The course has several labs {names}: pass --lab or set ${LAB_ENV}.")


def _lab_profile_model(solutions: Path | None, release: Path):
    """The lab's own `Profile` model from its definition (the solutions' copy, else the release's), or None."""
    from autograder.config.models import Profile  # noqa: PLC0415

    for folder in (f for f in (solutions, release) if f is not None):
        if (folder / "definition.py").is_file():
            from autograder.lab import load_definition  # noqa: PLC0415

            model = getattr(load_definition(folder).module, "Profile", None)
            return model if isinstance(model, type) and issubclass(model, Profile) else None
    return None


FALLBACK_KEY = "offline_fallback"  # a lab profile's settings for a machine without its base's weights


def _overlay(settings: dict, changes: dict) -> dict:
    """`settings` with `changes` laid over it, section by section (`{base: {alpha: 0.5}}` keeps the base's other keys)."""
    out = dict(settings)
    for key, value in changes.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(path: str | os.PathLike | None = None, lab: str | None = None) -> CourseConfig:
    """Parse and validate a course file and return the view of one lab (see `choose_lab`).

    Raises `ConfigError` naming the bad key path and value.
    """
    from autograder.config.models import Profile  # noqa: PLC0415

    file = find_config(path)
    course = read_course_file(file)
    name = choose_lab(course, file.parent, lab)
    entry = course.labs[name]
    solutions, release = _lab_folders(course, file.parent, name)
    model = _lab_profile_model(solutions, release) or Profile
    profiles, fallbacks = {}, {}
    for profile_name, budget in entry.profiles.items():
        budget = dict(budget)
        fallback = budget.pop(FALLBACK_KEY, None)
        merged = {**course.profiles[profile_name].model_dump(), **budget}
        prefix = f"labs.{name}.profiles.{profile_name}"
        try:
            profiles[profile_name] = model.model_validate(merged)
        except ValidationError as exc:
            raise ConfigError(_format_validation_error(file, exc, prefix=prefix)) from None
        if fallback is None:
            continue
        if not isinstance(fallback, dict) or not fallback:
            raise ConfigError(
                f"{file}: expected {prefix}.{FALLBACK_KEY} to be a mapping of the settings it replaces. Received: {fallback!r}"
            )
        try:
            fallbacks[profile_name] = model.model_validate({**_overlay(merged, fallback), "fallback_for": profile_name})
        except ValidationError as exc:
            raise ConfigError(_format_validation_error(file, exc, prefix=f"{prefix}.{FALLBACK_KEY}")) from None
    paths = course.paths.model_copy(
        update={
            "solutions": None if course.paths.solutions is None else course.paths.solutions.format(lab=name),
            "release": course.paths.release.format(lab=name),
        }
    )
    try:
        return CourseConfig(
            course=CourseInfo(name=course.course.name, lab=name, title=entry.title, leaderboard=course.course.leaderboard),
            paths=paths, data=entry.data, parts=entry.parts, profiles=profiles, offline_fallbacks=fallbacks,
            default_profile=course.default_profile if course.default_profile in profiles else next(iter(profiles)),
            labs=tuple(course.labs),
        )
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(file, exc, prefix=f"labs.{name}")) from None


@dataclass(frozen=True)
class Locations:
    """Where this machine keeps the course's inputs; each resolved flag > env > course.yaml > default."""

    root: Path
    data_dir: Path | None
    weights_dir: Path | None
    cache_dir: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"


def _pick(flag: str | os.PathLike | None, env: str, configured: str | None, root: Path) -> Path | None:
    value = flag or os.environ.get(env) or configured
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (root / path).resolve()


def resolve_locations(
    config_path: Path,
    config: CourseConfig,
    data_dir: str | os.PathLike | None = None,
    weights_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Locations:
    """Resolve data, weights and cache folders for this machine."""
    root = config_path.parent
    cache = _pick(cache_dir, "COURSE_CACHE_DIR", config.paths.cache_dir, root)
    if cache is None:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        cache = Path(xdg) / "course"
    return Locations(
        root=root,
        data_dir=_pick(data_dir, "COURSE_DATA_DIR", config.paths.data_dir, root),
        weights_dir=_pick(weights_dir, "COURSE_WEIGHTS_DIR", config.paths.weights_dir, root),
        cache_dir=cache,
    )
