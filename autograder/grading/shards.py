"""Grade a batch in shards and gather them: `course grade --shard K/N` and `course gather OUT`.

A shard is a deterministic part of a batch. Every shard discovers the whole batch, sorts its
submissions by content hash (the graded modules' bytes; the name breaks ties, and a submission
that cannot be opened sorts by its name) and takes every N-th one from position K-1. So a re-run,
a resubmitted Slurm task or another machine picks the same submissions, and N shards of one batch
differ by at most one submission in size.

Shard K of N writes, under the batch's `--out`, to `shard-K-of-N/`: the same layout as
`course grade` (feedback, results.json, staff records, a gradebook), plus `shard.json`, the
shard's signed plan (the names it must grade, and whether it finished). `course gather OUT`
verifies every shard's records under that shard's key, copies them to `OUT/` (signed again under
`OUT`'s key, so `course report OUT` and a later resume trust them), writes one gradebook of
the whole batch, and lists what is missing: a shard that never wrote its plan, and every
submission of a plan without a verified record. A gathered batch is complete only when nothing
is missing; `course gather` then exits 0 (3 when some rows say a submission could not be graded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.result import SubmissionResult
from autograder.reports.atomic import atomic_write_text
from autograder.reports.gradebook import write_gradebook

PLAN = "shard.json"
FOLDER = re.compile(r"^shard-(?P<k>[0-9]+)-of-(?P<n>[0-9]+)$")


class ShardError(ValueError):
    """A shard written as something other than K/N with 1 <= K <= N, or shards that disagree."""


@dataclass(frozen=True)
class Shard:
    """Shard `k` (1-based) of `n`."""

    k: int
    n: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"2/8"` -> Shard(2, 8).

        Raises:
            ShardError: not two positive integers K/N with K <= N (the message shows what was received).
        """
        match = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", text or "")
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ShardError(f"Expected --shard K/N with 1 <= K <= N (e.g. 2/8). Received: {text!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def folder(self) -> str:
        return f"shard-{self.k}-of-{self.n}"

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"


def assign(keys: Iterable[tuple[str, str]], n: int) -> dict[str, int]:
    """Name -> its shard (1..n), from (name, content hash) pairs; balanced and deterministic.

    Example:
        >>> assign([("bob", "ff"), ("amy", "00"), ("cat", "00")], 2)
        {'amy': 1, 'cat': 2, 'bob': 1}
    """
    ordered = sorted(keys, key=lambda item: (item[1], item[0]))
    return {name: i % n + 1 for i, (name, _) in enumerate(ordered)}


def write_plan(folder: Path, shard: Shard, names: list[str], total: int, complete: bool, secret: bytes) -> None:
    """The shard's signed plan: what it must grade (of `total` in the batch) and whether it finished."""
    from autograder.grading.batch import _mac  # noqa: PLC0415

    plan = {"shard": shard.k, "of": shard.n, "batch_size": total, "submissions": sorted(names), "complete": complete}
    plan["mac"] = _mac(secret, plan)
    atomic_write_text(folder / PLAN, json.dumps(plan, indent=1) + "\n")


def read_plan(folder: Path) -> dict:
    """The plan in shard `folder`, its signature checked under the shard's own grader key.

    Raises:
        ValueError: no plan, an unreadable one, or one that does not verify (or no key of this user's).
    """
    from autograder.grading.batch import _existing_key, _read_private, _signed  # noqa: PLC0415

    secret = _existing_key(folder)
    raw = _read_private(folder / PLAN, 16 * 1024 * 1024)
    if raw is None:
        raise ValueError(f"no {PLAN} (the shard never started)")
    if secret is None:
        raise ValueError("no grader key of yours in the shard")
    try:
        plan = _signed(raw, secret)
        if not isinstance(plan["submissions"], list) or not all(isinstance(s, str) for s in plan["submissions"]):
            raise TypeError("its submissions are not a list of names")
    except (KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ValueError(f"{PLAN} is malformed ({exc})") from None
    return plan


@dataclass
class Gathered:
    """What `gather` found: the results, and what is missing or could not be graded."""

    results: list[SubmissionResult] = field(default_factory=list)
    shards: int = 0
    missing_shards: list[int] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # submission -> which shard should have graded it, and why not
    failed: dict[str, str] = field(default_factory=dict)  # submission -> why it could not be graded (it has a zero row)
    problems: list[str] = field(default_factory=list)  # shard folders or records left out, and why

    @property
    def complete(self) -> bool:
        return not (self.missing_shards or self.missing or self.problems)


def shard_folders(out: Path) -> dict[Shard, Path]:
    """Every `shard-K-of-N` folder under `out` (links are never followed)."""
    found = {}
    for path in sorted(out.iterdir()) if out.is_dir() else ():
        match = FOLDER.match(path.name)
        if match and path.is_dir() and not path.is_symlink():
            found[Shard(int(match["k"]), int(match["n"]))] = path
    return found


def gather(out: Path) -> Gathered:
    """Merge the shards under `out` into `out`'s own layout and gradebook; see the module docstring.

    Raises:
        ShardError: no shard folder under `out`, or shards of different N.
    """
    from autograder.grading import batch  # noqa: PLC0415

    folders = shard_folders(out)
    if not folders:
        raise ShardError(f"Expected shard folders (shard-K-of-N/, written by `course grade --shard K/N --out {out}`) in {out}. Received: none")
    counts = sorted({shard.n for shard in folders})
    if len(counts) > 1:
        raise ShardError(f"Expected the shards of one batch (one N) in {out}. Received: shards of N = {counts}; move the others away")
    n = counts[0]
    found = Gathered(shards=n)
    secret = batch.batch_key(out)
    results: dict[str, SubmissionResult] = {}
    by_shard = {shard.k: path for shard, path in folders.items()}
    found.missing_shards = [k for k in range(1, n + 1) if k not in by_shard]
    for k, folder in sorted(by_shard.items()):
        try:
            plan = read_plan(folder)
        except ValueError as exc:
            found.missing_shards.append(k)
            found.problems.append(f"{folder.name}: {exc}")
            continue
        records, left_out = batch.verified_records(folder)
        found.problems += [f"{folder.name}/{line}" for line in left_out]
        graded = {result.submission: (result, key) for result, key in records}
        for name in plan["submissions"]:
            if name not in graded:
                state = "its task did not finish" if not plan.get("complete") else "its record is missing"
                found.missing[name] = f"shard {k}/{n}: not graded ({state})"
                continue
            result, key = graded[name]
            batch.write_outputs(out, name, result, key, secret)
            results[name] = result
            if not key:
                found.failed[name] = "; ".join(result.notes)[:1000]
    found.missing_shards = sorted(set(found.missing_shards))
    found.results = [results[name] for name in sorted(results)]
    write_gradebook(found.results, out / "gradebook.csv", merge=False)  # exactly the gathered batch
    return found
