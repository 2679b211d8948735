"""What untrusted code can reach: hidden paths, the network, the host's files, its output folder."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from sandbox_testing import SECRET

from autograder.sandbox import IsolationLevel, Outcome


def test_reading_a_hidden_file_fails(strong_box):
    result = strong_box.run(f"print(open({str(strong_box.hidden_file)!r}).read())")
    assert result.outcome is Outcome.EXIT_NONZERO, result.message
    assert "PermissionError" in result.stderr.text
    assert SECRET not in result.stdout.text


def test_listing_or_reading_a_hidden_dir_fails(strong_box):
    listing = strong_box.run(f"import os; print(os.listdir({str(strong_box.hidden_dir)!r}))")
    assert listing.outcome is Outcome.EXIT_NONZERO, listing.message
    assert "PermissionError" in listing.stderr.text
    direct = strong_box.run(f"print(open({str(strong_box.hidden_dir / 'solution.py')!r}).read())")
    assert direct.outcome is Outcome.EXIT_NONZERO
    assert SECRET not in direct.stdout.text + direct.stderr.text


def test_hidden_paths_stay_hidden_through_a_symlink(strong_box):
    (strong_box.workdir / "peek").symlink_to(strong_box.hidden_file)
    result = strong_box.run("print(open('peek').read())")
    assert result.outcome is Outcome.EXIT_NONZERO, result.message
    assert SECRET not in result.stdout.text


def test_readable_paths_and_workdir_are_readable(box):
    result = box.run(f"import student; print(student.ANSWER, open({str(box.course / 'public.txt')!r}).read().strip())")
    assert result.outcome is Outcome.OK, result.message + result.stderr.text
    assert result.stdout.text == "42 public data\n"


def test_unlisted_host_paths_are_not_visible(strong_box):
    # The repository is not readable unless the caller lists it; only its .venv (the runtime) is.
    repo_file = Path(__file__).resolve().parents[2] / "pyproject.toml"
    result = strong_box.run(f"import os; print(os.path.exists({str(repo_file)!r}), os.path.exists('/home'))")
    assert result.outcome is Outcome.OK, result.message
    assert result.stdout.text == "False False\n"


def test_root_only_files_are_unreadable(strong_box):
    if os.geteuid() != 0:
        pytest.skip("/etc/shadow is root-only; the point is that root's own files stay closed")
    result = strong_box.run("print(open('/etc/shadow').read())")
    assert result.outcome is Outcome.EXIT_NONZERO
    assert "PermissionError" in result.stderr.text


def test_no_connection_to_a_loopback_listener_outside(strong_box):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\nprint('CONNECTED')"
        result = strong_box.run(code)
        with pytest.raises(socket.timeout):
            listener.accept()
    assert result.outcome is Outcome.EXIT_NONZERO, result.message
    assert "CONNECTED" not in result.stdout.text
    assert "Error" in result.stderr.text  # refused or unreachable: there is no route out


def test_writing_into_workdir_or_readable_paths_fails(box):
    targets = [box.workdir / "student.py", box.course / "public.txt"]
    for target in targets:
        result = box.run(f"open({str(target)!r}, 'a').write('tampered')")
        if box.level is IsolationLevel.PLAIN:
            continue  # the weak level cannot protect the caller's files; see the next test
        assert result.outcome is Outcome.EXIT_NONZERO, result.message
        assert "Read-only file system" in result.stderr.text or "PermissionError" in result.stderr.text
        assert "tampered" not in target.read_text()


def test_plain_level_says_it_is_weak(plain_box):
    result = plain_box.run("pass")
    report = result.isolation
    assert result.outcome is Outcome.OK
    assert report.level is IsolationLevel.PLAIN and not report.is_strong
    assert not report.hides_paths and not report.blocks_network
    assert "Weak isolation" in report.warnings[0]


def test_host_tmp_is_not_written(strong_box):
    escape = f"/tmp/autograder-escape-{uuid.uuid4().hex}"
    result = strong_box.run(f"open({escape!r}, 'w').write('x'); print('wrote')")
    assert result.outcome is Outcome.OK, result.message  # it wrote to its own private /tmp
    assert not os.path.exists(escape)


def test_repository_is_not_written(strong_box):
    repo_file = os.path.join(os.getcwd(), f"escape-{uuid.uuid4().hex}")
    result = strong_box.run(f"open({repo_file!r}, 'w').write('x')")
    assert result.outcome is Outcome.EXIT_NONZERO, result.message
    assert not os.path.exists(repo_file)


def test_file_left_in_writable_out_comes_back(box):
    code = (
        "import json, os\n"
        "json.dump({'accuracy': 0.91}, open(os.path.join(os.environ['SANDBOX_OUT'], 'metrics.json'), 'w'))"
    )
    result = box.run(code)
    assert result.outcome is Outcome.OK, result.message + result.stderr.text
    produced = box.out / "metrics.json"
    assert produced.read_text() == '{"accuracy": 0.91}'
    assert produced.stat().st_uid == os.getuid()  # handed back to the grader
    if result.isolation.uid is not None:
        assert result.isolation.uid not in (0, os.getuid())


def test_strong_level_reports_what_it_guarantees(strong_box):
    result = strong_box.run("import os; print(os.getuid())")
    report = result.isolation
    assert report.level is strong_box.level and report.is_strong
    if os.geteuid() == 0:
        assert int(result.stdout.text) == report.uid and report.uid >= 1_000_000


def test_only_listed_devices_are_exposed(strong_box):
    device = Path("/dev/kmsg")  # a harmless character device outside the default set
    if not device.exists():
        pytest.skip("needs /dev/kmsg as an example device")
    code = "import os, stat; print(os.path.exists('/dev/kmsg') and stat.S_ISCHR(os.stat('/dev/kmsg').st_mode))"
    assert strong_box.run(code).stdout.text == "False\n"
    (strong_box.out / "again").mkdir()
    strong_box.out = strong_box.out / "again"
    assert strong_box.run(code, devices=[device]).stdout.text == "True\n"


def test_package_folders_on_the_path_are_readable_and_nothing_else(monkeypatch, tmp_path):
    """Keras installed with `pip install --user` or through a `.pth` lies outside the interpreter's
    prefix: its folder is bound; another folder on the path (a repository, the current one) is not."""
    import sys  # noqa: PLC0415

    from autograder.sandbox.view import runtime_paths  # noqa: PLC0415

    user_site = tmp_path / "home" / ".local" / "lib" / "site-packages"
    user_site.mkdir(parents=True)
    repository = tmp_path / "repository"
    repository.mkdir()
    monkeypatch.chdir(repository)
    monkeypatch.setattr(sys, "path", [*sys.path, str(user_site), str(repository), ""])
    paths = runtime_paths()
    assert user_site in paths
    assert repository not in paths and not any(repository in p.parents for p in paths)
