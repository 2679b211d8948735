"""Unit tests of the sandbox's parts: limits, bounded capture, the view plan, bwrap arguments."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from autograder.sandbox import Limits, PythonEntry
from autograder.sandbox.bwrap import bwrap_argv
from autograder.sandbox.capture import BoundedCapture
from autograder.sandbox.command import to_argv
from autograder.sandbox.view import build_view


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("wall_time_s", 0, "Expected a positive number. Received: wall_time_s=0"),
        ("cpu_time_s", float("nan"), "Expected a positive number. Received: cpu_time_s=nan"),
        ("memory_bytes", 1.5, "Expected a positive integer. Received: memory_bytes=1.5"),
        ("max_processes", -1, "Expected a positive integer. Received: max_processes=-1"),
        ("max_processes", True, "Expected a positive integer. Received: max_processes=True"),
    ],
)
def test_limits_reject_bad_values(field, value, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")):
        Limits(**{field: value})


def test_limits_become_rlimits():
    rlimits = Limits(memory_bytes=2**30, max_processes=100, cpu_time_s=2.5).rlimits()
    assert rlimits["RLIMIT_DATA"] == (2**30, 2**30)
    assert rlimits["RLIMIT_NPROC"] == (100, 100)
    assert rlimits["RLIMIT_CPU"] == (3, 4)  # SIGXCPU at 3 s, SIGKILL a second later
    assert "RLIMIT_AS" not in rlimits  # TensorFlow reserves far more address space than it uses
    assert Limits().rlimits(nproc=900)["RLIMIT_NPROC"] == (900, 900)


def _captured(data: bytes, head: int, tail: int):
    capture = BoundedCapture(io.BytesIO(data), head=head, tail=tail)
    capture.start()
    return capture.result()


def test_capture_keeps_everything_that_fits():
    out = _captured(b"hello\n", head=10, tail=10)
    assert out.text == "hello\n" and out.total_bytes == 6 and not out.truncated


def test_capture_keeps_head_and_tail_and_counts_the_rest():
    data = b"".join(b"%06d\n" % i for i in range(100_000))  # 700,000 bytes
    out = _captured(data, head=14, tail=14)
    assert out.total_bytes == len(data) and out.dropped_bytes == len(data) - 28
    assert out.text.startswith("000000\n000001\n\n[... 699972 bytes dropped by the sandbox")
    assert out.text.endswith("099998\n099999\n")


def test_capture_replaces_invalid_utf8():
    assert _captured(b"ok \xff\xfe", head=100, tail=100).text == "ok \ufffd\ufffd"


def test_python_entry_needs_exactly_one_entry():
    with pytest.raises(
        ValueError, match="Expected exactly one of `script`, `module` or `code`. Received: script, code"
    ):
        PythonEntry(script=Path("a.py"), code="pass")
    assert PythonEntry(module="worker", args=("x", 3)).argv() == [sys.executable, "-B", "-m", "worker", "x", "3"]


@pytest.mark.parametrize("command", ["python -c pass", [], [b"python"]])
def test_command_must_be_an_argv_list(command):
    with pytest.raises(TypeError, match="Expected a PythonEntry or a non-empty list of strings"):
        to_argv(command)


@pytest.fixture
def layout(tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "hidden_key.txt").write_text("k")
    (tmp_path / "work").mkdir()
    (tmp_path / "out").mkdir()
    return tmp_path


def _view(layout, **overrides):
    args = dict(
        workdir=layout / "work",
        readable=[layout / "course"],
        writable_out=layout / "out",
        hidden=[layout / "course" / "solutions", layout / "course" / "hidden_key.txt"],
        tmp_bytes=1 << 20,
    )
    return build_view(**{**args, **overrides})


def test_view_covers_hidden_paths_inside_readable_ones(layout):
    view = _view(layout)
    kinds = {m.dest: m.kind for m in view.mounts}
    assert kinds[str(layout / "course" / "solutions")] == "hide-dir"
    assert kinds[str(layout / "course" / "hidden_key.txt")] == "hide-file"
    assert kinds[str(layout / "course")] == "ro-bind" and kinds[str(layout / "out")] == "bind"
    assert kinds["/tmp"] == "tmpfs" and kinds["/proc"] == "proc"
    order = [m.dest for m in view.mounts]
    assert order.index("/tmp") < order.index(str(layout / "out"))  # the private /tmp does not cover it
    assert order[-2:] == sorted(view.masked, key=lambda d: len(Path(d).parts))  # covers come last


def test_view_exposes_no_home_or_root_wholesale(layout):
    dests = {m.dest for m in _view(layout).mounts if m.kind in ("ro-bind", "bind")}
    assert "/" not in dests and "/root" not in dests and "/home" not in dests
    assert os.path.realpath(sys.base_prefix) in dests  # the Python that runs the code


def test_view_refuses_readable_paths_inside_hidden_ones(layout):
    inner = layout / "course" / "solutions"
    with pytest.raises(ValueError, match="Expected `readable` to be outside every hidden path"):
        _view(layout, readable=[inner])
    with pytest.raises(ValueError, match="Expected `writable_out` to be outside every hidden path"):
        _view(layout, writable_out=inner)


def test_view_refuses_missing_paths(layout):
    with pytest.raises(FileNotFoundError, match="Expected an existing path for `readable`"):
        _view(layout, readable=[layout / "nope"])


def test_bwrap_arguments(layout):
    argv = bwrap_argv("bwrap", _view(layout), privileged=True, hidden_file="/x/hidden")
    line = " ".join(argv)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert "--unshare-user" not in argv  # privileged: the launcher drops to the run's own uid
    assert f"--perms 0000 --size 4096 --tmpfs {layout / 'course' / 'solutions'}" in line
    assert f"--ro-bind /x/hidden {layout / 'course' / 'hidden_key.txt'}" in line
    assert argv[-1] == "--"
    unprivileged = bwrap_argv("bwrap", _view(layout), privileged=False, hidden_file="/x/hidden")
    assert "--unshare-user" in unprivileged and "--disable-userns" in unprivileged


def test_devices_must_be_character_devices(layout):
    with pytest.raises(ValueError, match="Expected a character device in `devices`"):
        _view(layout, devices=[layout / "course" / "hidden_key.txt"])
    assert "--dev-bind /dev/null /dev/null" in " ".join(
        bwrap_argv("bwrap", _view(layout, devices=[Path("/dev/null")]), privileged=True, hidden_file="/x")
    )
