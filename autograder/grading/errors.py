"""Grading errors that the command line reports in one line, importable without loading Keras."""

from __future__ import annotations


class SnapshotError(ValueError):
    """The reference snapshot is missing, malformed or made for other settings (the message says which)."""
