"""How a lab declares its probes: which part each belongs to and the artifacts it writes.

A lab's `probes.py` (in its folder, public, copied into the release) holds plain functions
`probe(module, ctx) -> dict`, each declared once with `@probe(part, **artifacts)`: the names
checks ask for, and the file each is read from. The engine derives from these declarations
what each part's worker runs (in definition order), which probes a set of checks needs, and
how the grader reads every artifact (always as data, through the safe loaders). Importable
inside the sandbox: nothing here loads Keras or touches the grader's files.

Example:
    >>> @probe("part_one", small_model=keras_model("small_model.keras"))
    ... def small_model(module, ctx):
    ...     return ctx.save_model(module.build_model((32, 32, 3)), "small_model.keras")
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

PROBES_FILE = "probes.py"
_PROBE_ATTRIBUTE = "__course_probe__"
KINDS = ("model", "array", "arrays", "json")


@dataclass(frozen=True)
class ArtifactSpec:
    """A file a probe writes, as a check receives it: a model, one array, all arrays, or JSON."""

    kind: str
    file: str
    key: str | None = None

    def describe(self) -> str:
        return {
            "model": f"keras.Model ({self.file}, loaded in safe mode)",
            "array": f"numpy array ({self.file}[{self.key!r}])",
            "arrays": f"dict of numpy arrays ({self.file})",
            "json": f"JSON ({self.file})",
        }[self.kind]


def keras_model(file: str) -> ArtifactSpec:
    return ArtifactSpec("model", file)


def npz_array(file: str, key: str) -> ArtifactSpec:
    return ArtifactSpec("array", file, key)


def npz_arrays(file: str) -> ArtifactSpec:
    return ArtifactSpec("arrays", file)


def json_file(file: str) -> ArtifactSpec:
    return ArtifactSpec("json", file)


@dataclass(frozen=True)
class ProbeSpec:
    part: str
    name: str
    function: Callable[..., Any]
    artifacts: dict[str, ArtifactSpec] = field(default_factory=dict)


def probe(part: str, **artifacts: ArtifactSpec) -> Callable:
    """Declare `fn(module, ctx)` a probe of `part` that writes `artifacts` (check name -> file)."""
    for name, spec in artifacts.items():
        if not isinstance(spec, ArtifactSpec):
            raise TypeError(
                f"Expected artifact {name!r} to be keras_model(...), npz_array(...), npz_arrays(...) or json_file(...). Received: {spec!r}"
            )

    def decorate(fn: Callable) -> Callable:
        setattr(fn, _PROBE_ATTRIBUTE, ProbeSpec(part, fn.__name__, fn, dict(artifacts)))
        return fn

    return decorate


@dataclass(frozen=True)
class LabProbes:
    """A lab's probes by part (definition order) and the artifact each check name is read from."""

    source: Path
    by_part: dict[str, tuple[ProbeSpec, ...]]

    @property
    def artifacts(self) -> dict[str, tuple[ProbeSpec, ArtifactSpec]]:
        return {name: (spec, artifact) for specs in self.by_part.values() for spec in specs for name, artifact in spec.artifacts.items()}

    def names(self, part: str) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.by_part.get(part, ()))

    @classmethod
    def from_module(cls, module: ModuleType, source: Path) -> LabProbes:
        by_part: dict[str, list[ProbeSpec]] = {}
        seen: dict[str, str] = {}
        for value in vars(module).values():
            spec = getattr(value, _PROBE_ATTRIBUTE, None)
            if isinstance(spec, ProbeSpec) and getattr(value, "__module__", None) == module.__name__:
                for name in spec.artifacts:
                    if name in seen:
                        raise ValueError(f"{source}: artifact {name!r} is declared by probes {seen[name]} and {spec.name}")
                    seen[name] = spec.name
                by_part.setdefault(spec.part, []).append(spec)
        return cls(Path(source), {part: tuple(specs) for part, specs in by_part.items()})

    @classmethod
    def read(cls, path: Path) -> LabProbes:
        """Import the lab's probes file (a unique module name per file content)."""
        from autograder.training.lab_modules import import_module_from  # noqa: PLC0415

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Expected the lab's probes in {path}. Received: no such file")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return cls.from_module(import_module_from(path, f"lab_probes_{digest}"), path)
