"""The `course` command: a thin layer that parses arguments and calls one stage per verb."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from autograder.config import ConfigError
from autograder.terminal import make_console

# TensorFlow's C++ start-up chatter (and a harmless tf.data graph-version notice) is not for users;
# Python exceptions still carry every real error.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

app = typer.Typer(
    help="Author, release, run and grade a course's deep-learning labs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
)
console = make_console()
err = make_console(stderr=True)
EXIT_SOME_NOT_GRADED = 3  # `course grade`: some submissions (or some of their parts) could not be graded
EXIT_MISSING = 4  # `course gather` (and `course slurm grade`): a shard or some submissions are missing

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="course.yaml (default: found from the current folder).")]
LabOpt = Annotated[
    Optional[str],
    typer.Option("--lab", "-l", help="The course's lab (env COURSE_LAB; default: the lab folder you are in, else course.default_lab)."),
]
DataOpt = Annotated[
    Optional[Path], typer.Option("--data-dir", help="Folder holding the labs' data sets, hidden splits included (env COURSE_DATA_DIR).")
]
WeightsOpt = Annotated[
    Optional[Path], typer.Option("--weights-dir", help="Folder of pretrained Keras weight files, under their original names (env COURSE_WEIGHTS_DIR).")
]
CacheOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Cache of decoded data and prepared grader inputs (env COURSE_CACHE_DIR).")]


@contextlib.contextmanager
def quiet_framework():
    """Keep TensorFlow's C++ start-up lines and Keras's loading warnings out of a student's output.

    TensorFlow writes its oneDNN and absl notices to file descriptor 2 while it is imported,
    before any log level applies; they go to /dev/null for the import only (a Python error
    during the import is still raised as an exception). Keras's "Skipping variable loading for
    optimizer" notices, about models the grader loads, are not the student's concern.
    """
    import warnings  # noqa: PLC0415

    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer", category=UserWarning)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                importlib.import_module("keras")
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
    yield


def _print_version(value: bool) -> None:
    if value:
        from autograder.doctor import versions  # noqa: PLC0415  (cheap: no Keras)

        print(versions())
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the versions and exit.")
    ] = False,
) -> None:
    """Author, release, run and grade a course's deep-learning labs."""
ProfileOpt = Annotated[Optional[str], typer.Option("--profile", "-p", help="A profile (budget) of the lab in course.yaml; `course config` lists them.")]


def _context(config=None, data_dir=None, weights_dir=None, cache_dir=None, lab=None, download=True):
    from autograder.context import CourseContext  # noqa: PLC0415

    return CourseContext.create(config, data_dir, weights_dir, cache_dir, download=download, lab=lab)


@app.command()
def release(
    check: Annotated[bool, typer.Option("--check", help="Only verify the committed release; exit 1 on drift.")] = False,
    kit: Annotated[bool, typer.Option("--kit/--no-kit", help="Also write the student kit (the release, a student course.yaml, the engine's wheel).")] = True,
    kit_dir: Annotated[Optional[Path], typer.Option("--kit-dir", help="Where the kit goes (default: dist/ beside course.yaml).")] = None,
    config: ConfigOpt = None,
    lab: LabOpt = None,
) -> None:
    """Generate assignments/ (stubs, notebook, public checks) from solutions/, and the student kit."""
    from autograder import release as stage  # noqa: PLC0415
    from autograder.release.kit import kit_name  # noqa: PLC0415

    ctx = _context(config, lab=lab)
    kit_out = None if check or not kit else (kit_dir or ctx.locations.root / "dist")
    problems = stage.main(ctx, check=check, kit_dir=kit_out)
    if problems:
        err.print(f"The release in {ctx.release_dir} has drifted from {ctx.solutions_dir}:", style="red")
        for problem in problems:
            err.print(problem, markup=False)
        raise typer.Exit(1)
    verb = "is up to date with" if check else "was generated from"
    console.print(f"{ctx.release_dir.relative_to(ctx.locations.root)} {verb} {ctx.config.paths.solutions}")
    if kit_out is not None:
        console.print(
            f"Student kit: {kit_out / kit_name(ctx.lab)}/ and {kit_out / kit_name(ctx.lab)}.zip "
            "(hand out the zip; its README says how to install and use it)", markup=False, highlight=False,
        )


@app.command()
def reference(
    profile: ProfileOpt = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only these variants (repeatable).")] = None,
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="Show Keras epoch logs.")] = 0,
) -> None:
    """Train the reference solution under a profile and print its accuracy on the hidden split."""
    ctx = _context(config, data_dir, weights_dir, cache_dir, lab)
    ctx.profile(profile)  # an unknown profile fails at once, before Keras loads
    from autograder import reference as stage  # noqa: PLC0415

    stage.main(ctx, profile, tuple(only) if only else None, console=console, verbose=verbose)


@app.command(epilog="Exit codes: 0 every submission graded; 2 nothing graded (a missing path, no grading user, unreadable inputs); "
                    "3 some submissions, or some of their parts, could not be graded (a missing module, a syntax error, "
                    "a broken zip or notebook: each has its row naming why; a summary is printed).")
def grade(
    submissions: Annotated[list[Path], typer.Argument(help="Submission folders or .zip files, or folders of them.")],
    profile: ProfileOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where results.json, feedback and gradebook.csv go.")] = Path("graded"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Submissions graded in parallel.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Grade again even if already graded with the same content.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")] = False,
    user: Annotated[
        Optional[str],
        typer.Option("--user", help="Run as root: the unprivileged user that loads and trains student models (default course-grader)."),
    ] = None,
    grading_seconds: Annotated[
        Optional[float], typer.Option("--grading-seconds", min=1, help="Time limit per submission (default 4 x the profile's worker_seconds).")
    ] = None,
    grading_memory_gb: Annotated[
        Optional[float], typer.Option("--grading-memory-gb", min=0.1, help="Memory cap of a grading process (default 3 x worker_memory_gb).")
    ] = None,
    shard: Annotated[
        Optional[str],
        typer.Option("--shard", help="K/N: grade only the K-th of N deterministic parts of the batch, into OUT/shard-K-of-N/ "
                                     "(merge them with `course gather OUT`)."),
    ] = None,
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Grade submissions in the sandbox; write results.json, feedback and a gradebook.

    Exits 3 when some submissions, or some of their parts, could not be graded (see the summary),
    2 when nothing could be.
    """
    from autograder.grading.submissions import require_existing  # noqa: PLC0415

    require_existing(submissions)  # a typo fails at once, before Keras loads
    from autograder.grading.batch import BatchOptions, files_for, run_batch  # noqa: PLC0415
    from autograder.grading.shards import Shard, ShardError  # noqa: PLC0415
    from autograder.reports.summary import results_as_json, scores_table  # noqa: PLC0415

    try:
        part = Shard.parse(shard) if shard is not None else None
    except ShardError as exc:
        raise typer.BadParameter(str(exc), param_hint="--shard") from None
    ctx = _context(config, data_dir, weights_dir, cache_dir, lab)
    name = profile or ctx.config.default_profile
    options = BatchOptions(
        profile=name, out=out.resolve() / part.folder if part else out.resolve(), jobs=jobs, force=force,
        config=str(ctx.config_path), lab=ctx.lab, data_dir=_str(data_dir), weights_dir=_str(weights_dir), cache_dir=_str(cache_dir),
        user=user, grading_seconds=grading_seconds, grading_memory_gb=grading_memory_gb, shard=str(part) if part else None,
    )
    results = run_batch(list(submissions), options, console=err)
    if as_json:
        print(results_as_json(results, {r.submission: files_for(options.out, r.submission) for r in results}))
    else:
        console.print(scores_table(results, title=f"Scores (profile {name!r})"))
        console.print(f"Results, feedback and gradebook.csv in {options.out}")
    if results.failures:
        err.print(f"{len(results.failures)} of {len(results)} submission(s) could not be graded (score 0, a row each):",
                  style="red", markup=False, highlight=False)
        for failed, reason in sorted(results.failures.items()):
            err.print(f"  {failed}: {reason[:1000]}", markup=False, highlight=False, soft_wrap=True)
    incomplete = results.incomplete
    if incomplete:
        err.print(f"{len(incomplete)} of {len(results)} submission(s) were graded without some parts (those parts score 0):",
                  style="red", markup=False, highlight=False)
        for name, reason in sorted(incomplete.items()):
            err.print(f"  {name}: {reason[:1000]}", markup=False, highlight=False, soft_wrap=True)
    if results.failures or incomplete:
        raise typer.Exit(EXIT_SOME_NOT_GRADED)


@app.command(epilog="Exit codes: 0 the batch is complete; 3 complete, but some submissions could not be graded (each has "
                    "a zero row naming why); 4 something is missing (a shard that never ran or did not finish; run it again, "
                    "then gather again).")
def gather(
    out: Annotated[Path, typer.Argument(help="The --out given to every `course grade --shard K/N` (it holds shard-K-of-N/ folders).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")] = False,
) -> None:
    """Merge the shards of a batch into one gradebook, feedback and records under OUT; list what is missing."""
    from autograder.grading.batch import files_for  # noqa: PLC0415
    from autograder.grading.shards import ShardError, gather as merge  # noqa: PLC0415
    from autograder.reports.summary import results_as_json, scores_table  # noqa: PLC0415

    out = out.resolve()
    try:
        found = merge(out)
    except ShardError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        print(results_as_json(found.results, {r.submission: files_for(out, r.submission) for r in found.results}))
    else:
        console.print(scores_table(found.results, title=f"Gathered {len(found.results)} submission(s) from {found.shards} shard(s)"))
        console.print(f"Results, feedback and gradebook.csv in {out}", markup=False, highlight=False)
    _print_gathered(found)
    if not found.complete:
        raise typer.Exit(EXIT_MISSING)
    if found.failed:
        raise typer.Exit(EXIT_SOME_NOT_GRADED)


def _print_gathered(found) -> None:
    for label, lines in (
        ("shard(s) missing or unfinished", [f"shard {k}/{found.shards}" for k in found.missing_shards]),
        ("submission(s) not graded yet", [f"{name}: {why}" for name, why in sorted(found.missing.items())]),
        ("record(s) left out", found.problems),
        ("submission(s) could not be graded (score 0, a row each)", [f"{name}: {why}" for name, why in sorted(found.failed.items())]),
    ):
        if lines:
            err.print(f"{len(lines)} {label}:", style="red", markup=False, highlight=False)
            for line in lines:
                err.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


slurm_app = typer.Typer(help="Grade a class on a Slurm cluster (shared filesystem assumed).", no_args_is_help=True)
app.add_typer(slurm_app, name="slurm")


@slurm_app.command("grade", epilog="Exit codes as `course gather`: 0 complete; 3 complete, some submissions could not be graded; "
                                    "4 a shard failed twice or is missing (run the same command again to resume).")
def slurm_grade(
    submissions: Annotated[list[Path], typer.Argument(help="Submission folders or .zip files, or folders of them (on the shared filesystem).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where the shards, the gathered results and gradebook.csv go (shared).")],
    profile: ProfileOpt = None,
    shards: Annotated[Optional[int], typer.Option("--shards", min=1, help="Array tasks, one per shard (default: 4 submissions a task).")] = None,
    partition: Annotated[Optional[str], typer.Option("--partition", help="Slurm partition (default: the cluster's).")] = None,
    gpus_per_task: Annotated[
        Optional[int], typer.Option("--gpus-per-task", min=0, help="GPUs per task (default: the profile's gpus, 0 on CPU profiles).")
    ] = None,
    cpus_per_task: Annotated[int, typer.Option("--cpus-per-task", min=1, help="CPU cores per task.")] = 2,
    max_parallel: Annotated[Optional[int], typer.Option("--max-parallel", min=1, help="At most this many tasks at once (%N).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Submissions each task grades in parallel.")] = 1,
    mem_gb: Annotated[Optional[int], typer.Option("--mem-gb", min=1, help="Memory per task (default: from the profile's limits).")] = None,
    time_minutes: Annotated[Optional[int], typer.Option("--time-minutes", min=1, help="Time limit per task (default: from the profile).")] = None,
    sbatch_arg: Annotated[Optional[list[str]], typer.Option("--sbatch-arg", help="Another #SBATCH line, e.g. --account=cs101 (repeatable).")] = None,
    poll_seconds: Annotated[float, typer.Option("--poll-seconds", min=0.5, help="How often squeue is asked.")] = 10.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the sbatch script and submit nothing.")] = False,
    user: Annotated[Optional[str], typer.Option("--user", help="As root: the unprivileged user tasks grade as (default course-grader).")] = None,
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Grade a batch as a Slurm job array: one task per shard, followed, failed tasks resubmitted once, gathered."""
    from autograder.cluster import slurm  # noqa: PLC0415
    from autograder.grading.submissions import require_existing  # noqa: PLC0415

    require_existing(submissions)
    ctx = _context(config, data_dir, weights_dir, cache_dir, lab)
    request = slurm.Request(
        shards=shards, jobs=jobs, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task, partition=partition,
        max_parallel=max_parallel, mem_gb=mem_gb, time_minutes=time_minutes, sbatch_args=tuple(sbatch_arg or ()), user=user,
    )
    plan, count = slurm.plan_for(ctx, profile or ctx.config.default_profile, list(submissions), out, request)
    if dry_run:
        print(slurm.render_script(plan), end="")
        err.print(f"{count} submission(s) in {plan.shards} shard(s); nothing submitted (--dry-run).", markup=False, highlight=False)
        return
    try:
        slurm.grade(ctx, plan, err, poll_seconds=poll_seconds)
    except slurm.SlurmError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print(f"Stopped following; the job keeps running. Run the same command again to resume, or `course gather {plan.out}` "
                  "once it ends.", markup=False, highlight=False)
        raise typer.Exit(130) from None
    gather(plan.out, as_json=False)


@app.command("report")
def report_cmd(
    graded: Annotated[Path, typer.Argument(help="The folder `course grade --out` wrote.")] = Path("graded"),
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where the report goes (default: GRADED/report).")] = None,
    assignment: Annotated[
        Optional[str], typer.Option("--assignment", help="The assignment's column in canvas.csv (default: the lab's title).")
    ] = None,
    with_leaderboard: Annotated[
        bool, typer.Option("--leaderboard", help="Also write leaderboard.md (pseudonymous hidden-split accuracies) and its key.")
    ] = False,
    config: ConfigOpt = None,
    lab: LabOpt = None,
) -> None:
    """Write the class view of a graded batch: report.md with plots, canvas.csv and moodle.csv (staff only)."""
    from autograder.reports.class_report import write_report  # noqa: PLC0415

    ctx = _context(config, None, None, None, lab)
    from autograder.calibration import report_calibrations  # noqa: PLC0415

    calibrations = report_calibrations(ctx)  # per profile: its own calibration on this backend, else its offline fallback's
    title = ctx.config.course.title
    try:
        written = write_report(graded, title, assignment or title, calibrations, out, with_leaderboard=with_leaderboard)
    except FileNotFoundError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"Wrote {written.markdown} ({written.submissions} submission(s)), "
        f"{', '.join(f.name for f in [*written.figures, written.canvas, *written.others])}.", markup=False, highlight=False,
    )
    for line in written.left_out:
        err.print(f"warning: left out {line}", style="yellow", markup=False, highlight=False)


@app.command("check")
def check_cmd(
    folder: Annotated[Path, typer.Argument(help="Your working copy (the folder with the lab's modules).")] = Path("."),
    profile: Annotated[str, typer.Option("--profile", "-p", help="Budget; smoke is quick.")] = "smoke",
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (for tools) instead of a table.")] = False,
) -> None:
    """Run the public checks on your working copy and say what passes, what fails and why."""
    import json  # noqa: PLC0415

    with quiet_framework():
        from autograder.grading import check as stage  # noqa: PLC0415

    ctx = _context(config, data_dir, weights_dir, cache_dir, lab)
    result = stage.main(ctx, folder.resolve(), profile, console=err if as_json else console, quiet=as_json)
    if as_json:
        print(json.dumps(stage.as_json(result, ctx.config.total_points), indent=1))
    if result.score < result.max_score:
        raise typer.Exit(1)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path.resolve())


@app.command()
def calibrate(
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile to calibrate.")],
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Reference runs to derive thresholds from.")] = 3,
    fresh: Annotated[int, typer.Option("--fresh", min=0, help="Extra fresh seeds to verify the thresholds on.")] = 0,
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Train the reference over seeds and write the profile's accuracy thresholds."""
    ctx = _context(config, data_dir, weights_dir, cache_dir, lab)
    ctx.profile(profile)  # an unknown profile fails at once, before Keras loads
    from autograder import calibration as stage  # noqa: PLC0415

    calibration, fresh_runs = stage.main(ctx, profile, seeds=seeds, fresh=fresh, console=console)
    failures = [
        f"{name}: {value:.3f} < {calibration.thresholds[name].threshold:.3f}"
        for name, values in fresh_runs.items()
        for value in values
        if value < calibration.thresholds[name].threshold
    ]
    if failures:
        err.print("The reference fails its own thresholds on fresh seeds: " + "; ".join(failures), markup=False)
        raise typer.Exit(1)


@app.command("checks")
def checks_list(
    fixtures: Annotated[bool, typer.Option("--fixtures", help="List every name a check may ask for: its part, source and type.")] = False,
    public: Annotated[bool, typer.Option("--public", help="The release's public checks instead of all of them.")] = False,
    config: ConfigOpt = None,
    lab: LabOpt = None,
) -> None:
    """List the lab's checks (part, points, visibility, what each asks for), or with --fixtures the fixture catalogue."""
    from autograder.grading import listing  # noqa: PLC0415

    listing.main(_context(config, lab=lab), fixtures, public, console=console)


@app.command("doctor")
def doctor_cmd(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Check this machine: versions, the Keras backend and its devices (GPUs), sandbox levels, data and weights."""
    from rich.table import Table  # noqa: PLC0415

    ctx = _context(config, data_dir, weights_dir, cache_dir, lab, download=False)  # doctor downloads nothing
    ctx.profile(profile)  # an unknown profile fails at once, naming the profiles
    with quiet_framework():
        from autograder.doctor import findings  # noqa: PLC0415

        found = findings(ctx, profile)
    table = Table(title="course doctor")
    for column in ("", "What", "Found"):
        table.add_column(column)
    for item in found:
        table.add_row(Text("ok", style="green") if item.ok else Text("--", style="yellow"), item.what, item.detail)
    console.print(table)


@app.command("config")
def show_config(config: ConfigOpt = None, lab: LabOpt = None) -> None:
    """Validate course.yaml and print its labs, and the chosen lab's parts and profiles."""
    from autograder.config import find_config, load_config  # noqa: PLC0415

    path = find_config(config)
    course = load_config(path, lab)
    console.print(f"{course.course.name} ({path}): labs {', '.join(course.labs)}")
    console.print(Text.assemble((course.course.lab, "bold"), f": {course.course.title}"))
    for name, part in course.parts.items():
        console.print(f"  part {name:20s} {part.points:5.1f} pts  {part.module}")
    for name, prof in course.profiles.items():
        console.print(f"  profile {name:8s} {prof.description}")


@app.command("export")
def export_cmd(
    platform: Annotated[str, typer.Argument(help="gradescope, otter or nbgrader.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder to write into (default: export/PLATFORM).")] = None,
    profile: ProfileOpt = None,
    data: Annotated[
        Optional[bool],
        typer.Option("--data/--no-data", help="Bundle the data and weights (default: yes for gradescope and otter)."),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Only compare OUT with a fresh export; exit 1 on drift.")] = False,
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Export the autograder to Gradescope, otter-grader or nbgrader, generated from solutions/."""
    from autograder import export as stage  # noqa: PLC0415

    ctx = _context(config, data_dir, weights_dir, cache_dir, lab)
    out = out or Path("export") / platform
    try:
        lines = stage.main(ctx, platform, out.resolve(), profile, with_data=data, check=check)
    except (stage.ExportError, FileNotFoundError) as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if check and lines:
        err.print(f"The {platform} export in {out} has drifted from the source:", markup=False)
        for line in lines:
            err.print(line, markup=False, soft_wrap=True)
        raise typer.Exit(1)
    # soft_wrap: the terminal wraps long paths; rich would break them with newlines (hard to copy).
    for line in lines or [f"The {platform} export in {out} is up to date."]:
        console.print(line, markup=False, soft_wrap=True)


@app.command()
def submit(
    folder: Annotated[Path, typer.Argument(help="Your working copy (the lab's modules, or lab.ipynb).")] = Path("."),
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="The zip to write (default: <lab>-<student>.zip).")] = None,
    student: Annotated[
        Optional[str], typer.Option("--student", "-s", help="Your student id: recorded in the manifest and the zip's name.")
    ] = None,
    checks: Annotated[bool, typer.Option("--checks/--no-checks", help="Run the public checks first (slow).")] = True,
    force: Annotated[bool, typer.Option("--force", help="Write the zip even when errors were found.")] = False,
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile of the public checks.")] = "smoke",
    config: ConfigOpt = None,
    lab: LabOpt = None,
    data_dir: DataOpt = None,
    weights_dir: WeightsOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Check your working copy and package it as the zip you hand in (with a manifest)."""
    with quiet_framework():
        from autograder import submit as stage  # noqa: PLC0415

    ctx = _context(config, data_dir, weights_dir, cache_dir, lab)
    report = stage.main(ctx, folder, out, checks=checks, force=force, profile=profile, console=console, student=student)
    for line in report.notes:
        console.print(line, markup=False)
    for line in report.warnings:
        console.print(f"warning: {line}", style="yellow", markup=False, highlight=False)
    for line in report.errors:
        err.print(f"error: {line}", style="red", markup=False, highlight=False)
    if report.archive is not None:
        console.print(f"Wrote {report.archive} ({report.kind}); hand in this file.", markup=False)
    if report.errors:
        raise typer.Exit(1)


def main() -> None:
    """Entry point: turn expected errors into one clear line and exit code 2."""
    from autograder.bases import WeightsNotFoundError  # noqa: PLC0415
    from autograder.data import DataNotFoundError  # noqa: PLC0415
    from autograder.grading.errors import SnapshotError  # noqa: PLC0415
    from autograder.grading.jobs import GradingSetupError  # noqa: PLC0415
    from autograder.grading.submissions import SubmissionError  # noqa: PLC0415
    from autograder.release import ReleaseError  # noqa: PLC0415
    from autograder.submit import SubmitError  # noqa: PLC0415

    expected = (
        ConfigError, DataNotFoundError, WeightsNotFoundError, ReleaseError, SubmissionError, SnapshotError, GradingSetupError,
        SubmitError, KeyError,
    )
    try:
        app()
    except expected as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        err.print(f"error: {message}", style="red", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
