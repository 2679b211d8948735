"""Atomic writes: the old file survives a failed write, permissions are kept, no temporary file lingers."""

from __future__ import annotations

import os

import pytest

from autograder.reports.atomic import atomic_write_text


def test_creates_parents_and_writes(tmp_path):
    path = atomic_write_text(tmp_path / "a" / "b" / "report.md", "héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert os.listdir(path.parent) == ["report.md"]


def test_keeps_permissions_of_replaced_file(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("old")
    path.chmod(0o600)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o600


def test_failed_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "grades.csv"
    path.write_text("old")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["grades.csv"]
