"""`course report GRADED`: the class view of a graded batch, for TAs and instructors (staff only).

It reads the grader's signed records in the batch's output folder (a record whose signature does
not verify is left out and named), and writes, in `GRADED/report/` by default:

- `report.md`: the score distribution, each part's mean, each check's failure rate with its most
  common message, the slowest submissions, the submissions whose hidden-split accuracy sits
  within calibration noise of a threshold (for a TA to look at), and what needs attention
  (submissions not graded, parts not graded, hand-ins that do not match their manifest);
- `scores.png` and `parts.png`: a histogram of total scores and each part's mean;
- `canvas.csv`: the gradebook in the columns Canvas's gradebook import reads (Student, ID,
  SIS User ID, SIS Login ID, Section, then the assignment), one row per submission with a
  student id: a numeric id (Canvas's own, from a Canvas download) goes in `ID`, any other in
  `SIS User ID`;
- `moodle.csv`: the gradebook as Moodle's CSV grade import reads it: one column to map users
  by (`Email address` when every id is one, else `ID number`) and the assignment's grade;
- with `leaderboard`: `leaderboard.md`, each trained run's hidden-split accuracy under a
  pseudonym (HMAC of the student id with a key derived from the batch's grader-only
  `GRADED/.grader-key`, so pseudonyms stay the same from one report to the next and cannot be
  computed from an id without it), fit to post; and `leaderboard-key.csv`, which student is which pseudonym
  (staff only, to tell each student theirs).

The report names hidden checks and thresholds: it is for staff, never handed back.
"""

from __future__ import annotations

import csv
import hmac
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from autograder.grading.result import SubmissionResult
from autograder.reports.atomic import atomic_write_text
from autograder.reports.plots import save_png

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
SLOWEST = 5


@dataclass(frozen=True)
class Noise:
    """A run's threshold and its calibration spread (one standard deviation over seeds)."""

    threshold: float
    std: float


@dataclass(frozen=True)
class ClassReport:
    """What `write_report` wrote."""

    folder: Path
    markdown: Path
    figures: tuple[Path, ...]
    canvas: Path
    submissions: int
    left_out: tuple[str, ...]
    others: tuple[Path, ...] = ()  # moodle.csv, and the leaderboard's files when asked for


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _first_line(message: str, limit: int = 110) -> str:
    line = next((part.strip() for part in message.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _check_name(name: str) -> str:
    """A check's name without the detail of one of its several results ("... (other arguments)")."""
    return re.sub(r" \([^()]*\)$", "", name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _graded(result: SubmissionResult) -> bool:
    return not any(note.startswith("Not graded:") for note in result.notes)


def _histogram(results: list[SubmissionResult], path: Path) -> Path:
    figure = Figure(figsize=(6, 3.2), dpi=100)
    axes = figure.subplots()
    top = max((r.max_score for r in results), default=100.0) or 100.0
    axes.hist([r.score for r in results], bins=20, range=(0, top), color="#4c72b0", edgecolor="white")
    axes.set_xlabel("total score")
    axes.set_ylabel("submissions")
    axes.set_title(f"Scores of {len(results)} submission(s)")
    figure.tight_layout()
    return save_png(figure, path)


def _part_means(results: list[SubmissionResult], parts: dict[str, tuple[str, float]], path: Path) -> Path:
    figure = Figure(figsize=(6, 3.2), dpi=100)
    axes = figure.subplots()
    names = list(parts)
    means = [
        statistics.fmean([p.score / p.max_score for r in results for p in r.parts if p.part == name and p.max_score] or [0.0])
        for name in names
    ]
    axes.barh(names[::-1], [100 * m for m in means[::-1]], color="#55a868")
    axes.set_xlim(0, 100)
    axes.set_xlabel("mean score (% of the part's points)")
    figure.tight_layout()
    return save_png(figure, path)


def canvas_csv(results: list[SubmissionResult], assignment: str) -> str:
    """The gradebook as Canvas's gradebook import reads it (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CANVAS_COLUMNS, assignment])
    for result in sorted(results, key=lambda r: r.student or r.submission):
        if not result.student:
            continue
        canvas_id, sis_id = (result.student, "") if result.student.isdigit() else ("", result.student)
        writer.writerow([result.submission, canvas_id, sis_id, "", "", f"{result.score:.2f}"])
    return buffer.getvalue()


def moodle_csv(results: list[SubmissionResult], assignment: str) -> str:
    """The gradebook as Moodle's CSV grade import reads it (see the module docstring)."""
    rows = sorted((r for r in results if r.student), key=lambda r: r.student)
    column = "Email address" if rows and all("@" in r.student for r in rows) else "ID number"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column, assignment])
    for result in rows:
        writer.writerow([result.student, f"{result.score:.2f}"])
    return buffer.getvalue()


def leaderboard_key(graded: Path) -> bytes:
    """The pseudonym key of a batch: derived from its grader-only record key (`batch_key`, made
    once, 0600), so pseudonyms stay the same from one report to the next and need no file of their own."""
    from autograder.grading.batch import batch_key  # noqa: PLC0415

    return hmac.new(batch_key(Path(graded)), b"course report: leaderboard pseudonyms", "sha256").digest()


def pseudonym(key: bytes, student: str) -> str:
    return "anon-" + hmac.new(key, student.encode("utf-8"), "sha256").hexdigest()[:8]


def leaderboard(results: list[SubmissionResult], key: bytes) -> tuple[str, str]:
    """(`leaderboard.md`, `leaderboard-key.csv`): pseudonymous hidden-split accuracies, best first
    by the last trained run (the lab's final model), and which student is which pseudonym."""
    entries = [(r, {c.name: c.accuracy for c in r.curves}) for r in results if r.student and r.curves]
    runs: list[str] = []
    for _, accuracies in entries:
        runs += [name for name in accuracies if name not in runs]
    ranked = sorted(entries, key=lambda e: (-e[1].get(runs[-1], -1.0), pseudonym(key, e[0].student))) if runs else []
    lines = ["# Leaderboard", "", "Accuracy on the hidden test split of each trained run, under pseudonyms.", ""]
    lines += ["| Rank | Pseudonym | " + " | ".join(runs) + " |", "|---|---|" + "---|" * len(runs)]
    mapping = io.StringIO()
    writer = csv.writer(mapping, lineterminator="\n")
    writer.writerow(["student", "pseudonym", "rank"])
    for rank, (result, accuracies) in enumerate(ranked, start=1):
        name = pseudonym(key, result.student)
        cells = [f"{accuracies[run]:.3f}" if run in accuracies else "-" for run in runs]
        lines.append(f"| {rank} | {name} | " + " | ".join(cells) + " |")
        writer.writerow([result.student, name, rank])
    return "\n".join(lines) + "\n", mapping.getvalue()


def report_markdown(
    results: list[SubmissionResult], title: str, noise: dict[tuple[str, str], Noise], left_out: list[str], figures: list[str]
) -> str:
    """The report's Markdown (see the module docstring)."""
    totals = [r.score for r in results]
    top = max((r.max_score for r in results), default=0.0)
    profiles = sorted({r.profile for r in results})
    lines = [f"# {title}: class report", ""]
    lines.append(
        f"{len(results)} submission(s) graded on profile(s) {', '.join(profiles) or '-'}. "
        "Staff only: this report names hidden checks and thresholds."
    )
    lines.append("")
    if totals:
        spread = statistics.pstdev(totals) if len(totals) > 1 else 0.0
        lines += [
            "## Scores", "",
            f"Out of {top:g}: mean {_fmt(statistics.fmean(totals))}, median {_fmt(statistics.median(totals))}, "
            f"standard deviation {_fmt(spread)}, lowest {_fmt(min(totals))}, highest {_fmt(max(totals))}.", "",
        ]
        lines += [f"![{name}]({name})" for name in figures] + [""]
    parts: dict[str, tuple[str, float]] = {}
    for result in results:
        for part in result.parts:
            parts.setdefault(part.part, (part.title, part.max_score))
    if parts:
        lines += ["## Parts", "", "| Part | Points | Mean | Median | Full marks | Zero |", "|---|---:|---:|---:|---:|---:|"]
        for name, (part_title, points) in parts.items():
            scores = [p.score for r in results for p in r.parts if p.part == name]
            full = sum(1 for s in scores if points and s >= points - 1e-6)
            zero = sum(1 for s in scores if s <= 1e-9)
            lines.append(
                f"| {_cell(part_title)} | {points:g} | {_fmt(statistics.fmean(scores))} | {_fmt(statistics.median(scores))} "
                f"| {full} | {zero} |"
            )
        lines.append("")
    # One row per check: a check that reports several results ("... (other arguments)") counts as
    # failed for a submission when any of them failed.
    checks: dict[tuple[str, str], list[tuple[bool, float, str, str]]] = {}
    for result in results:
        grouped: dict[tuple[str, str], list] = {}
        for check in result.checks():
            grouped.setdefault((check.part, _check_name(check.name)), []).append(check)
        for key, found in grouped.items():
            failed = [c for c in found if c.score < c.max_score - 1e-9]
            lost = sum(c.max_score - c.score for c in found)
            message = _first_line(failed[0].message) if failed and failed[0].message else ""
            checks.setdefault(key, []).append((bool(failed), lost, message, found[0].visibility))
    if checks:
        lines += [
            "## Checks", "",
            "Each check's failure rate over the submissions it ran on, the points lost on average, and "
            "its most common message.", "",
            "| Part | Check | Visibility | Failed | Points lost | Most common message |", "|---|---|---|---:|---:|---|",
        ]
        rows = []
        for (part, name), outcomes in checks.items():
            failed = [o for o in outcomes if o[0]]
            lost = statistics.fmean(o[1] for o in outcomes)
            common = Counter(o[2] for o in failed if o[2]).most_common(1)
            message = f"{common[0][0]} ({common[0][1]}x)" if common else ""
            rows.append((len(failed) / len(outcomes), lost, part, name, outcomes[0][3], len(failed), len(outcomes), message))
        for rate, lost, part, name, visibility, failed, total, message in sorted(rows, key=lambda r: (-r[0], -r[1], r[2], r[3])):
            lines.append(
                f"| {_cell(part)} | {_cell(name)} | {visibility} | {failed}/{total} ({100 * rate:.0f}%) | {lost:.2f} | {_cell(message)} |"
            )
        lines.append("")
    slow = sorted((r for r in results if _graded(r)), key=lambda r: -r.execution_time)[:SLOWEST]
    if slow:
        lines += ["## Slowest submissions", "", "| Submission | Seconds | Score |", "|---|---:|---:|"]
        lines += [f"| {_cell(r.submission)} | {r.execution_time:.0f} | {r.score:g} |" for r in slow]
        lines.append("")
    near = []
    for result in results:
        for curve in result.curves:
            band = noise.get((result.profile, curve.name))
            if band is not None and abs(curve.accuracy - band.threshold) <= max(band.std, 1e-9):
                near.append((result.submission, curve.name, curve.accuracy, band))
    lines += ["## Near a threshold", ""]
    if near:
        lines += [
            "Hidden-split accuracy within one calibration standard deviation of the threshold: another seed "
            "could have scored these otherwise. Worth a look before grades are final.", "",
            "| Submission | Run | Accuracy | Threshold | Calibration spread |", "|---|---|---:|---:|---:|",
        ]
        lines += [f"| {_cell(s)} | {_cell(run)} | {acc:.4f} | {b.threshold:.4f} | {b.std:.4f} |" for s, run, acc, b in near]
    else:
        lines.append("No hidden-split accuracy sits within calibration noise of its threshold.")
    lines.append("")
    attention = []
    for result in results:
        if not _graded(result):
            attention.append(f"- {result.submission}: {_first_line(result.notes[0], 300) if result.notes else 'not graded'}")
        elif result.problems:
            attention.append(f"- {result.submission}: parts not graded: {'; '.join(result.problems)}")
        if result.manifest and result.manifest != "verified":
            attention.append(f"- {result.submission}: manifest {result.manifest}")
    attention += [f"- {name}: left out of this report ({reason})" for name, reason in (item.split(": ", 1) for item in left_out)]
    lines += ["## Needs attention", ""] + (attention or ["Nothing: every submission was graded in full and matches its manifest."])
    return "\n".join(lines) + "\n"


def calibration_noise(calibration_file: Path) -> dict[str, Noise]:
    """Run name -> its threshold and spread, from a calibration file (empty when there is none)."""
    from autograder.calibration.thresholds import Calibration  # noqa: PLC0415

    try:
        calibration = Calibration.read(calibration_file)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return {}
    return {name: Noise(t.threshold, t.std) for name, t in calibration.thresholds.items()}


def write_report(
    graded: Path, title: str, assignment: str, calibrations: dict[str, Path], out: Path | None = None,
    with_leaderboard: bool = False,
) -> ClassReport:
    """Write the class report of the batch output folder `graded` (see the module docstring).

    Args:
        graded: the `--out` folder of `course grade`.
        title: the lab's title, for the report's heading.
        assignment: the assignment's column name in `canvas.csv`.
        calibrations: profile -> its calibration file (for the near-threshold list).
        out: where the report goes (default `graded/report`).
        with_leaderboard: also write `leaderboard.md` and `leaderboard-key.csv`.

    Raises:
        FileNotFoundError: `graded` holds no graded submission.
    """
    from autograder.grading.batch import verified_results  # noqa: PLC0415

    graded = Path(graded)
    results, left_out = verified_results(graded)
    if not results:
        raise FileNotFoundError(
            f"Expected a folder written by `course grade` (a folder per submission with its grading record). "
            f"Received: {graded} holds none" + (f"; left out: {'; '.join(left_out)}" if left_out else "")
        )
    folder = Path(out) if out is not None else graded / "report"
    folder.mkdir(parents=True, exist_ok=True)
    parts = {p.part: (p.title, p.max_score) for r in results for p in r.parts}
    figures = (_histogram(results, folder / "scores.png"), _part_means(results, parts, folder / "parts.png"))
    noise: dict[tuple[str, str], Noise] = {}
    for profile in sorted({r.profile for r in results}):
        if profile in calibrations:
            noise.update({(profile, run): band for run, band in calibration_noise(calibrations[profile]).items()})
    text = report_markdown(results, title, noise, left_out, [f.name for f in figures])
    markdown = atomic_write_text(folder / "report.md", text)
    canvas = atomic_write_text(folder / "canvas.csv", canvas_csv(results, assignment))
    moodle = atomic_write_text(folder / "moodle.csv", moodle_csv(results, assignment))
    extra = [moodle]
    if with_leaderboard:
        board, mapping = leaderboard(results, leaderboard_key(graded))
        extra += [atomic_write_text(folder / "leaderboard.md", board), atomic_write_text(folder / "leaderboard-key.csv", mapping)]
    return ClassReport(folder, markdown, figures, canvas, len(results), tuple(left_out), tuple(extra))
