"""The options every benchmark takes: the course's lab and profile, where its data, weights and cache are,
and a Markdown copy of the table. Benchmarks run as scripts (`python benchmarks/<name>.py`), so this
module is imported from their own folder."""

from __future__ import annotations

import argparse


def course_options(parser: argparse.ArgumentParser, *, profile: str, markdown: str = "also write the table as Markdown to this file") -> None:
    """Add --lab, --profile (default `profile`), --data-dir, --weights-dir, --cache-dir and --markdown."""
    parser.add_argument("--lab", help="the course's lab (default: course.default_lab)")
    parser.add_argument("--profile", default=profile, help=f"the lab's profile (default: {profile})")
    parser.add_argument("--data-dir", help="the course's data (default: course.yaml, then COURSE_DATA_DIR)")
    parser.add_argument("--weights-dir", help="pretrained weight files (default: course.yaml, then COURSE_WEIGHTS_DIR)")
    parser.add_argument("--cache-dir", help="decoded images and the grader's inputs (default: COURSE_CACHE_DIR)")
    if markdown:
        parser.add_argument("--markdown", help=markdown)


def course_context(args: argparse.Namespace):
    """The course context of the options above (the course.yaml of the current folder)."""
    from autograder.context import CourseContext  # noqa: PLC0415

    return CourseContext.create(None, args.data_dir, args.weights_dir, args.cache_dir, lab=args.lab)
