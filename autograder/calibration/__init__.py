"""`course calibrate`: train the reference over several seeds and write a profile's thresholds."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autograder.calibration.thresholds import Calibration, Threshold, derive_threshold
from autograder.config import Profile
from autograder.context import CourseContext
from autograder.terminal import make_console
from autograder.training.seeding import quiet_backend_logs

__all__ = [
    "Calibration", "Threshold", "calibration_path", "current_backend", "derive_threshold", "find_calibration", "main", "profile_digest", "report_calibrations",
]


def profile_digest(profile: Profile) -> str:
    """A short hash of a profile's settings: a calibration made under other settings is stale."""
    return hashlib.sha256(profile.budget_json().encode()).hexdigest()[:16]


DEFAULT_BACKEND = "tensorflow"  # its calibrations are `<profile>.json`; another backend's `<profile>.<backend>.json`


def current_backend() -> str:
    """The Keras backend this process grades on (`KERAS_BACKEND`, else Keras's own choice)."""
    import os  # noqa: PLC0415

    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    import keras  # noqa: PLC0415

    return keras.backend.backend()


def calibration_path(ctx: CourseContext, profile_name: str, profile: Profile | None = None, backend: str | None = None) -> Path:
    """Where a calibration is written: `calibration/<profile>.json` for TensorFlow, `<profile>.<backend>.json`
    for another backend, with `-offline` after the name for the profile's offline fallback."""
    stem = profile_name + ("-offline" if profile is not None and profile.fallback_for else "")
    suffix = "" if backend in (None, DEFAULT_BACKEND) else f".{backend}"
    return ctx.solutions_dir / "calibration" / f"{stem}{suffix}.json"


def find_calibration(ctx: CourseContext, profile_name: str, profile: Profile | None = None, backend: str | None = None) -> Path | None:
    """The calibration grading on `backend` uses: that backend's own, else TensorFlow's, else another
    backend's (the grade then says it was calibrated elsewhere); None when there is none."""
    own = calibration_path(ctx, profile_name, profile, backend)
    default = calibration_path(ctx, profile_name, profile)
    others = sorted(default.parent.glob(f"{default.stem}.*.json"))
    return next((path for path in (own, default, *others) if path.is_file()), None)


def report_calibrations(ctx: CourseContext, backend: str | None = None) -> dict[str, Path]:
    """Each profile's calibration as a class report shows it: the declared profile's on `backend`,
    else its offline fallback's, else the path a calibration would have (which the report says is missing).

    Unlike `CourseContext.profile`, this does not ask which weights are on this machine: the
    report is often made on another machine than the grading, and says nothing on stderr.
    """
    backend = backend or current_backend()
    found = {}
    for name, declared in ctx.config.profiles.items():
        fallback = ctx.config.offline_fallbacks.get(name)
        found[name] = (
            find_calibration(ctx, name, declared, backend)
            or (find_calibration(ctx, name, fallback, backend) if fallback is not None else None)
            or calibration_path(ctx, name)
        )
    return found


def _train_seeds(ctx, profile, seeds, console, label):
    definition = ctx.definition()
    graded = definition.graded_runs  # the accuracies that checks grade against a threshold
    lab = ctx.reference_modules("calibration")
    load, weights = ctx.split_loader(profile), ctx.weights_file(profile)
    accuracies: dict[str, list[float]] = {name: [] for name in graded}
    sizes: dict[str, int] = {}  # hidden-test images each run was measured on
    for i, seed in enumerate(seeds, start=1):
        runner = definition.reference_runner(lab, profile, load, weights, seed=seed)
        with console.status(Text(f"{label}: seed {seed} ({i}/{len(seeds)})")) as status:  # Text: a str would be markup
            for result in runner.run_all(
                graded, progress=lambda step: status.update(Text(f"{label}: seed {seed} ({i}/{len(seeds)}): {definition.label(step)}"))
            ):
                accuracies[result.name].append(result.accuracy)
                sizes[result.name] = len(result.labels) if result.labels is not None else 0
        console.print(f"  seed {seed}: " + ", ".join(f"{n} {accuracies[n][-1]:.3f}" for n in graded))
    return accuracies, sizes


def main(
    ctx: CourseContext, profile_name: str, seeds: int = 3, fresh: int = 0, console: Console | None = None
) -> tuple[Calibration, dict[str, list[float]]]:
    """Calibrate `profile_name` over `seeds` seeds, write its file, then check `fresh` new seeds.

    Returns the calibration and the fresh seeds' accuracies (each must pass its threshold).
    """
    from autograder.reference import machine_summary  # noqa: PLC0415

    quiet_backend_logs()
    console = console or make_console()
    profile = ctx.profile(profile_name)
    calibration_seeds = [profile.seed + i for i in range(seeds)]
    accuracies, sizes = _train_seeds(ctx, profile, calibration_seeds, console, "Calibrating")
    import keras  # noqa: PLC0415

    calibration = Calibration(
        profile=profile_name,
        profile_digest=profile_digest(profile),
        seeds=calibration_seeds,
        thresholds={name: derive_threshold(values, sizes[name]) for name, values in accuracies.items()},
        hardware=machine_summary(),
        backend=keras.backend.backend(),
        date=datetime.date.today().isoformat(),
    )
    path = calibration_path(ctx, profile_name, profile, keras.backend.backend())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calibration.to_json(), encoding="utf-8")
    fresh_accuracies = {}
    if fresh:
        fresh_seeds = [profile.seed + 1000 + i for i in range(fresh)]
        fresh_accuracies, _ = _train_seeds(ctx, profile, fresh_seeds, console, "Checking fresh seeds")
        calibration.notes["fresh_seeds"] = fresh_seeds
        calibration.notes["fresh_accuracies"] = {k: [round(v, 4) for v in vals] for k, vals in fresh_accuracies.items()}
        calibration.notes["fresh_all_pass"] = all(
            v >= calibration.thresholds[k].threshold for k, vals in fresh_accuracies.items() for v in vals
        )
        path.write_text(calibration.to_json(), encoding="utf-8")
    console.print(calibration_table(calibration, fresh_accuracies, ctx.definition()))
    console.print(f"Wrote {path}")
    return calibration, fresh_accuracies


def calibration_table(calibration: Calibration, fresh: dict[str, list[float]], definition) -> Table:
    table = Table(title=f"Calibration of profile {calibration.profile!r} ({len(calibration.seeds)} seeds)")
    for column in ("Part", "Mean", "Std", "Worst", "Threshold", "Floor", "Fresh seeds (pass?)"):
        table.add_column(column, justify="left" if column == "Part" else "right")
    for name, t in calibration.thresholds.items():
        checks = " ".join(f"{a:.3f}{'' if a >= t.threshold else '!'}" for a in fresh.get(name, []))
        table.add_row(definition.label(name), f"{t.mean:.3f}", f"{t.std:.3f}", f"{min(t.accuracies):.3f}", f"{t.threshold:.3f}", f"{t.floor:.3f}", checks or "-")
    return table
