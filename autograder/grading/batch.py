"""Grade many submissions: in child processes, each written atomically as it finishes, resumable.

Discovering, extracting and grading are isolated per submission: a bad zip, notebook, name or
link, an exception while grading, or a grading child that crashes, hangs or blows its memory cap
costs that submission only. It gets a row with score 0 and a message for the TA naming the
cause, and the batch goes on (`BatchResults.failures` lists them; `course grade` then exits 3).

The parent (this process) never loads a student's model: `jobs` grading children do
(`autograder.grading.jobs`), as an unprivileged user when the parent is root. The parent builds
the shared inputs first, then writes every output (results.json, feedback, grading.json, the
gradebook) itself from the JSON a child returns.

Outputs are kept by audience. `<out>/<name>/` is what may be handed back to the student:
`feedback.md` with its plots and a `results.json` whose hidden checks keep their name and score
but not their message. `<out>/.staff/<name>/grading.json`, the grader's record (every message,
thresholds, the hidden split's labels and per-image probabilities), and the gradebook are staff's.

A submission already graded with the same content and settings is skipped (its stored result
is reused) unless `force`, and only when its record verifies: `grading.json` carries an HMAC,
under a key in the grader-only file `<out>/.grader-key` (mode 0600), over the stored result and
the SHA-256 of `results.json` and `feedback.md`. A record or report that was edited, truncated or
written with another key is graded again, never trusted.
"""

from __future__ import annotations

import concurrent.futures as futures
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autograder.checks.result import CheckResult
from autograder.context import CourseContext
from autograder.grading.gpus import child_environments, visible_gpus
from autograder.grading.jobs import ChildFailure, ChildPool, ChildSpec, GradingSetupError, grading_user, masks_for, spec_options
from autograder.grading.result import PartResult, SubmissionResult
from autograder.grading.shards import Shard, assign, write_plan
from autograder.grading.submissions import Submission, discover
from autograder.reports.atomic import atomic_write_bytes, atomic_write_text
from autograder.reports.feedback import write_feedback
from autograder.reports.gradebook import write_gradebook
from autograder.reports.gradescope import write_results_json
from autograder.sandbox.artifacts import read_regular
from autograder.terminal import make_console

RECORD = "grading.json"
STAFF = ".staff"  # <out>/.staff/<name>/grading.json: staff only (never a submission's name: names start alphanumeric)
KEY_FILE = ".grader-key"
SIGNED_FILES = ("results.json", "feedback.md")
MAX_RECORD_BYTES = 64 * 1024 * 1024
VISIBLE_REASON = 300  # characters of a failure's reason in student-visible outputs
TIME_FACTOR = 4  # a submission's grading limit: this many times the profile's worker_seconds
MEMORY_FACTOR = 3  # a grading child's memory cap: this many times the profile's worker_memory_gb


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch (everything but the submissions).

    Attributes:
        user: the unprivileged user grading children run as when the batch runs as root
            (default `course-grader`); ignored when not root.
        grading_seconds: wall-clock limit of one submission's grading in its child
            (default `TIME_FACTOR` x the profile's `worker_seconds`).
        grading_memory_gb: resident-memory cap of a grading child
            (default `MEMORY_FACTOR` x the profile's `worker_memory_gb`).
        keep_user: children keep the parent's user even as root, with the same caps. Only for
            the plain isolation level under a root Gradescope `run_autograder`, where the
            sandbox needs root to run student code under per-run user ids (see
            `autograder.export.gradescope_entry`).
    """

    profile: str
    out: Path
    jobs: int = 1
    force: bool = False
    checks_dir: Path | None = None
    isolation_level: str | None = None
    config: str | None = None
    lab: str | None = None  # the course's lab to grade (default: as `course.yaml` and $COURSE_LAB choose)
    data_dir: str | None = None
    weights_dir: str | None = None
    cache_dir: str | None = None
    user: str | None = None
    grading_seconds: float | None = None
    grading_memory_gb: float | None = None
    keep_user: bool = False
    shard: str | None = None  # "K/N": grade only that shard of the batch (`out` is then the shard's folder)

    @classmethod
    def from_json(cls, data: dict) -> BatchOptions:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["out"] = Path(values["out"])
        if values.get("checks_dir") is not None:
            values["checks_dir"] = Path(values["checks_dir"])
        return cls(**values)


class BatchResults(list):
    """The batch's results in submission order; `failures` maps a name to why it was not graded."""

    def __init__(self, results=(), failures: dict[str, str] | None = None) -> None:
        super().__init__(results)
        self.failures: dict[str, str] = dict(failures or {})

    @property
    def incomplete(self) -> dict[str, str]:
        """Name -> what kept some parts from being graded (a missing module, a syntax error)."""
        return {r.submission: "; ".join(r.problems) for r in self if r.problems and r.submission not in self.failures}


def files_for(out: Path, name: str) -> dict[str, str]:
    folder = out / name
    return {"results_json": str(folder / "results.json"), "feedback": str(folder / "feedback.md")}


# -- the integrity of stored results -------------------------------------------------------------


def _read_private(path: Path, limit: int = MAX_RECORD_BYTES) -> bytes | None:
    """A regular file's bytes (no link followed), or None (also when larger than `limit`)."""
    data = read_regular(path, limit)
    return None if data is None or len(data) > limit else data


def _existing_key(out: Path) -> bytes | None:
    """The key in `out`'s key file when it is one this user made (0600, this user's), else None."""
    path = out / KEY_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            info = os.fstat(fd)
            data = os.read(fd, 256).strip()
        finally:
            os.close(fd)
        if stat.S_ISREG(info.st_mode) and not info.st_mode & 0o077 and info.st_uid == os.geteuid() and len(data) >= 64:
            return data
    except OSError:
        pass
    return None


def batch_key(out: Path) -> bytes:
    """The HMAC key of `out`'s records: made once, kept in a grader-only file (0600, this user's)."""
    key = _existing_key(out)
    if key is not None:
        return key
    key = secrets.token_hex(32).encode()
    atomic_write_bytes(out / KEY_FILE, key + b"\n", mode=0o600)
    return key


def _mac(key: bytes, record: dict) -> str:
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _signed(raw: bytes, secret: bytes) -> dict:
    """The record in `raw`, its signature checked under `secret`.

    Raises:
        ValueError: the signature does not verify, or `raw` is not JSON (KeyError, TypeError or
            AttributeError for a record of the wrong shape).
    """
    data = json.loads(raw)
    mac = data.pop("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(secret, data)):
        raise ValueError("its signature does not verify")
    return data


def record_path(out: Path, name: str) -> Path:
    """Where the grader's record of submission `name` is kept (staff only)."""
    return out / STAFF / name / RECORD


def _stored(out: Path, submission: Submission, key: str, secret: bytes) -> SubmissionResult | None:
    """The stored result of `submission`, if its record verifies and matches `key`; else None."""
    folder = out / submission.name
    raw = _read_private(record_path(out, submission.name))
    if raw is None or not key:
        return None
    try:
        data = _signed(raw, secret)
        if data.get("key") != key or data["result"].get("submission") != submission.name:
            return None
        for name in SIGNED_FILES:
            content = _read_private(folder / name)
            if content is None or hashlib.sha256(content).hexdigest() != data["files"].get(name):
                return None
        return SubmissionResult.from_dict(data["result"])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def verified_records(out: Path) -> tuple[list[tuple[SubmissionResult, str]], list[str]]:
    """Every stored (result, its resume key) under `out` whose record verifies, in name order, and
    "name: why" for each record left out (a bad signature, an unreadable record, a key that is
    not this grader's). The key is "" for a submission that could not be graded."""
    secret = _existing_key(out)
    if secret is None:
        return [], ([f"{out.name}: no grader key of yours ({KEY_FILE}); grade it with `course grade` as this user"] if out.is_dir() else [])
    records, left_out = [], []
    staff = out / STAFF
    for folder in sorted(p for p in (staff.iterdir() if staff.is_dir() else ()) if p.is_dir() and not p.is_symlink()):
        raw = _read_private(folder / RECORD)
        if raw is None:
            continue
        try:
            data = _signed(raw, secret)
            result = SubmissionResult.from_dict(data["result"])
            if result.submission != folder.name:
                raise ValueError(f"it is the record of {result.submission[:80]!r}")
            key = data.get("key") or ""
            if not isinstance(key, str):
                raise TypeError("its key is not text")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            left_out.append(f"{folder.name}: {exc}")
            continue
        records.append((result, key))
    return records, left_out


def verified_results(out: Path) -> tuple[list[SubmissionResult], list[str]]:
    """Every stored result under `out` whose record verifies, in name order, and "name: why" for
    each record left out (see `verified_records`)."""
    records, left_out = verified_records(out)
    return [result for result, _ in records], left_out


def write_outputs(out: Path, submission: Submission | str, result: SubmissionResult, key: str, secret: bytes | None = None) -> None:
    """results.json and feedback (to hand back), and the grader's signed record (staff only); the
    record last, so it marks completion. `submission` is the submission or its name.

    A record with an empty `key` (a submission that could not be graded) never matches on resume.
    """
    name = submission if isinstance(submission, str) else submission.name
    folder = out / name
    if folder.is_symlink():
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    write_results_json(result, folder / "results.json", withhold=("hidden",))
    write_feedback(result, folder)
    secret = secret if secret is not None else batch_key(out)
    files = {}
    for signed in SIGNED_FILES:
        content = _read_private(folder / signed)
        files[signed] = hashlib.sha256(content).hexdigest() if content is not None else ""
    record = {"key": key, "result": result.to_dict(), "files": files}
    record["mac"] = _mac(secret, record)
    staff = out / STAFF
    staff.mkdir(mode=0o700, exist_ok=True)
    os.chmod(staff, 0o700)
    path = record_path(out, name)
    if path.parent.is_symlink():
        path.parent.unlink()
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, json.dumps(record) + "\n")


def failed_result(ctx: CourseContext, profile: str, name: str, reason: str, content: str = "") -> SubmissionResult:
    """A zero row for a submission that could not be graded: one failed check per part, naming why."""
    shown = reason if len(reason) <= VISIBLE_REASON else reason[: VISIBLE_REASON - 3] + "..."
    parts = []
    for part in ctx.config.part_names:
        settings = ctx.config.parts[part]
        points = round(settings.points, 4)
        check = CheckResult("The submission could be graded", points, 0.0, points, "visible", shown, part)
        parts.append(PartResult(part, settings.title, points, [check]))
    return SubmissionResult(name, content, profile, "", parts, notes=[f"Not graded: {shown}"])


# -- the grader (built in each child) --------------------------------------------------------------


def _context(options: BatchOptions) -> CourseContext:
    return CourseContext.create(options.config, options.data_dir, options.weights_dir, options.cache_dir, lab=options.lab)


def make_grader(options: BatchOptions):
    """The `Grader` a grading child uses for all its submissions."""
    from autograder.grading.runner import Grader  # noqa: PLC0415

    ctx = _context(options)
    return Grader(ctx, options.profile, options.checks_dir or ctx.solutions_dir / "checks", options.isolation_level)


def submission_key(grader_digest: str, content: str) -> str:
    """What a stored result must have been graded with: these settings and checks, this content."""
    return f"{grader_digest}:{content}"


def _batch_user(options: BatchOptions):
    """The user grading children drop to; None to keep the parent's (not root, or `keep_user`)."""
    return None if options.keep_user else grading_user(options.user)


def _child_spec(options: BatchOptions, ctx: CourseContext, scratch: Path, inputs_root: Path) -> ChildSpec:
    import autograder  # noqa: PLC0415

    profile = ctx.profile(options.profile)
    seconds = options.grading_seconds or TIME_FACTOR * profile.worker_seconds
    memory = (options.grading_memory_gb or MEMORY_FACTOR * profile.worker_memory_gb) * 2**30
    user = _batch_user(options)
    engine = Path(autograder.__file__).resolve().parent
    loc = ctx.locations
    checks = Path(options.checks_dir or ctx.solutions_dir / "checks")
    readable = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)), str(loc.root), str(engine),
                str(loc.data_dir), str(loc.weights_dir), str(loc.cache_dir), str(ctx.solutions_dir), str(checks), str(scratch),
                str(ctx.config_path), str(inputs_root)]
    readable += [p for p in sys.path if p and os.path.isdir(p)]
    images = loc.cache_dir / "images"
    if images.is_dir():  # the decoded splits the children train and evaluate on
        readable += sorted(str(p) for p in images.iterdir() if p.suffix == ".npz")
    readable = list(dict.fromkeys(os.path.realpath(p) for p in readable))
    read_only = [str(ctx.solutions_dir), str(ctx.solutions_dir / "calibration"), str(checks), str(inputs_root),
                 str(loc.cache_dir / "images"), str(engine), sys.prefix, sys.base_prefix]
    masks: tuple = ()
    if user is not None:
        masks = masks_for([Path(p) for p in readable], user.pw_uid, {user.pw_gid})
    return ChildSpec(
        options=spec_options(options), seconds=float(seconds), memory_bytes=int(memory),
        uid=None if user is None else user.pw_uid, gid=None if user is None else user.pw_gid,
        user="" if user is None else user.pw_name, masks=masks, readable=tuple(readable), read_only=tuple(read_only),
    )


def _warm_image_cache(ctx: CourseContext, profile_name: str, gid: int) -> None:
    """Decode (once, cached) every split a grading child loads, while the parent may still write the cache.

    The cache files (written 0600) are then made readable to the grading user's group only
    (root:GROUP 0640): the children read them, the sandboxes never see them, nobody writes them.
    """
    profile = ctx.profile(profile_name)
    fresh = CourseContext(ctx.config_path, ctx.config, ctx.locations, ctx.download)  # dropped after: no arrays kept
    load = fresh.split_loader(profile)
    image_sizes = ctx.definition().image_sizes  # the sizes the lab's runs load images at, if it decodes any
    sizes = sorted(image_sizes(profile)) if image_sizes else []
    for split in ("train", "validation", "test"):
        for size in sizes:
            try:
                load(split, size)
            except (FileNotFoundError, OSError, ValueError):
                continue  # e.g. no hidden split on this machine: the child says so when it needs it
    folder = ctx.locations.cache_dir / "images"
    if folder.is_dir() and not folder.is_symlink():
        for path in folder.iterdir():
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o044:
                os.chown(path, -1, gid, follow_symlinks=False)
                os.chmod(path, 0o640)  # a regular file in the root-owned cache (checked just above)


def _validated(data: dict, submission: Submission, options: BatchOptions, content: str) -> SubmissionResult:
    try:
        result = SubmissionResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ChildFailure(f"the grading child answered a malformed result ({type(exc).__name__}: {exc})"[:500]) from None
    if result.submission != submission.name or result.profile != options.profile or result.content_hash != content:
        raise ChildFailure(
            f"the grading child answered a result for another submission. Expected: {submission.name}, {options.profile}, "
            f"{content}. Received: {result.submission[:80]!r}, {result.profile[:40]!r}, {result.content_hash[:40]!r}"
        )
    return result


def run_batch(paths: list[Path], options: BatchOptions, console: Console | None = None) -> BatchResults:
    """Grade every submission under `paths`; write results, feedback and the gradebook.

    Raises:
        SubmissionError: a path that does not exist, or a folder holding no submission.
        GradingSetupError: no grading user (as root), or a grading child cannot start (the
            message says what it cannot read).
    """
    from autograder.grading.runner import content_hash  # noqa: PLC0415

    console = console or make_console(stderr=True)
    ctx = _context(options)
    modules = [ctx.config.parts[p].module for p in ctx.config.part_names]
    user = _batch_user(options)  # fails before any work when root has no one to drop to
    options.out.mkdir(parents=True, exist_ok=True)
    secret = batch_key(options.out)
    results: dict[str, SubmissionResult] = {}
    failures: dict[str, str] = {}
    gradebook = options.out / "gradebook.csv"

    def record(submission: Submission, result: SubmissionResult, key: str) -> None:
        result = dataclasses.replace(result, student=submission.student, manifest=submission.manifest)
        write_outputs(options.out, submission, result, key, secret)
        results[submission.name] = result
        _write_gradebook(list(results.values()), gradebook, console)

    def fail(submission: Submission, reason: str, content: str = "") -> None:
        failures[submission.name] = reason
        record(submission, failed_result(ctx, options.profile, submission.name, reason, content), "")

    with tempfile.TemporaryDirectory(prefix="course-submissions-") as scratch:
        if user is not None:  # the grading user reads the copies; nobody else does
            os.chown(scratch, 0, user.pw_gid)
            os.chmod(scratch, 0o750)
        submissions = discover(paths, tuple(modules), Path(scratch))
        # each submission's content, hashed once (a broken one by its name: it has no modules to hash)
        contents = {
            s.name: hashlib.sha256(s.name.encode()).hexdigest() if s.problem else content_hash(s.folder, modules)
            for s in submissions
        }
        shard = None
        if options.shard:
            submissions, shard, total = _shard_of(submissions, options.shard, contents)
            write_plan(options.out, shard, [s.name for s in submissions], total, False, secret)
            console.print(f"Shard {shard}: {len(submissions)} of the batch's {total} submission(s).", highlight=False)
        digest = _batch_digest(options, ctx)
        todo = []
        for submission in submissions:
            if submission.problem:
                fail(submission, submission.problem)
                continue
            key = submission_key(digest, contents[submission.name])
            stored = None if options.force else _stored(options.out, submission, key, secret)
            if stored is not None and (stored.student, stored.manifest) != (submission.student, submission.manifest):
                stored = None  # the same modules, handed in by another id or with another manifest
            if stored is not None:
                results[submission.name] = stored
            else:
                todo.append((submission, key, contents[submission.name]))
        skipped = len(results) - len(failures)
        if skipped:
            console.print(f"Skipping {skipped} submission(s) already graded with the same content and settings.")
        if todo:
            _grade_all(todo, options, ctx, Path(scratch), user, console, record, fail)
        _write_gradebook(list(results.values()), gradebook, console)
        if shard is not None:
            write_plan(options.out, shard, [s.name for s in submissions], total, True, secret)
        return BatchResults([results[s.name] for s in submissions], failures)


def _shard_of(submissions: list[Submission], text: str, contents: dict[str, str]) -> tuple[list[Submission], Shard, int]:
    """The submissions of shard `text` ("K/N"; see `autograder.grading.shards`), the shard and the batch's size."""
    shard = Shard.parse(text)
    owner = assign([(s.name, contents[s.name]) for s in submissions], shard.n)
    return [s for s in submissions if owner[s.name] == shard.k], shard, len(submissions)


def _grade_all(todo, options: BatchOptions, ctx: CourseContext, scratch: Path, user, console, record, fail) -> None:
    from autograder.grading.inputs import prepare_inputs  # noqa: PLC0415

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("Preparing the grader's inputs", total=len(todo))
        # Built here, once, by the parent (root, when root): the children only read them.
        inputs = prepare_inputs(ctx, options.profile)
        if user is not None:
            _warm_image_cache(ctx, options.profile, user.pw_gid)
        spec = _child_spec(options, ctx, scratch, inputs.root)
        jobs = max(1, min(options.jobs, len(todo)))
        gpus = visible_gpus()
        uses_gpus = ctx.profile(options.profile).gpus > 0
        if uses_gpus:
            console.print(f"GPUs: {', '.join(gpus) or 'none visible (grading on the CPU)'}; {jobs} grading job(s).", highlight=False)
        pool = ChildPool(spec, jobs, child_environments(jobs, uses_gpus, gpus))
        children = list(pool.free)
        progress.update(task, description="Grading")

        def work(submission: Submission) -> dict:
            child = pool.take()
            try:
                return child.grade(submission.folder, submission.name)
            finally:
                pool.give(child)

        threads = futures.ThreadPoolExecutor(jobs, thread_name_prefix="grading")
        try:
            pending = {threads.submit(work, s): (s, key, content) for s, key, content in todo}
            for done in futures.as_completed(pending):
                submission, key, content = pending[done]
                try:
                    result = _validated(done.result(), submission, options, content)
                except GradingSetupError:
                    raise
                except ChildFailure as exc:
                    fail(submission, f"{submission.source}: could not be graded: {exc}", content)
                except Exception as exc:  # noqa: BLE001  (one submission's failure never stops the batch)
                    fail(submission, f"{submission.source}: could not be graded: {type(exc).__name__}: {exc}", content)
                else:
                    record(submission, result, key)
                progress.advance(task)
        finally:
            threads.shutdown(wait=False, cancel_futures=True)
            for child in children:
                child.stop()
            threads.shutdown(wait=True)
            pool.close()


def _write_gradebook(results: list[SubmissionResult], path: Path, console: Console) -> None:
    try:
        write_gradebook(results, path)
    except ValueError as exc:  # an existing file that is not a gradebook: rebuilt from this batch
        console.print(f"The gradebook {path} was not readable ({exc}); rewriting it from this batch.", markup=False)
        write_gradebook(results, path, merge=False)


def _checks_digest(options: BatchOptions, ctx: CourseContext) -> str:
    folder = options.checks_dir or ctx.solutions_dir / "checks"
    digest = hashlib.sha256()
    from autograder.calibration import current_backend, find_calibration  # noqa: PLC0415

    calibration = find_calibration(ctx, options.profile, ctx.profile(options.profile), current_backend())
    for path in [*sorted(Path(folder).glob("*.py")), *([calibration] if calibration else [])]:
        digest.update(path.name.encode() + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()[:12]


def _batch_digest(options: BatchOptions, ctx: CourseContext) -> str:
    from autograder.grading.inputs import _digest  # noqa: PLC0415

    profile = ctx.profile(options.profile)
    return f"{ctx.lab}-{options.profile}-{_digest(ctx, profile)}:{_checks_digest(options, ctx)}"
