"""How runs end, at every isolation level: exits, signals, limits, output, leftovers."""

from __future__ import annotations

import signal
import uuid
from dataclasses import replace

import pytest
from sandbox_testing import FAST, processes_with

from autograder.sandbox import MIB, Outcome


def test_sys_exit_zero_is_ok(box):
    result = box.run("import sys; print('hello'); sys.exit(0)")
    assert result.outcome is Outcome.OK, result.message
    assert result.exit_code == 0 and result.signal is None
    assert result.stdout.text == "hello\n" and not result.stdout.truncated
    assert result.isolation.level is box.level


def test_os_exit_three_is_reported(box):
    result = box.run("import os; os._exit(3)")
    assert result.outcome is Outcome.EXIT_NONZERO
    assert result.exit_code == 3
    assert result.message == "Expected exit status 0. Received: exit_code=3."


def test_uncaught_exception_exits_one_with_traceback(box):
    result = box.run("raise ValueError('student bug')")
    assert result.outcome is Outcome.EXIT_NONZERO and result.exit_code == 1
    assert "ValueError: student bug" in result.stderr.text


def test_crash_is_reported_as_signal(box):
    result = box.run("import ctypes; ctypes.string_at(0)")
    assert result.outcome is Outcome.SIGNALED
    assert result.signal == signal.SIGSEGV and result.exit_code is None
    assert "SIGSEGV" in result.message


def test_infinite_loop_is_killed_at_the_time_limit(box):
    result = box.run("while True: pass", replace(FAST, wall_time_s=1.0))
    assert result.outcome is Outcome.TIMEOUT, result.message
    assert result.timed_out and result.killed and result.signal == signal.SIGKILL
    assert 1.0 <= result.duration_s < 4.0


def test_cpu_time_limit_stops_a_busy_loop(box):
    result = box.run("while True: pass", replace(FAST, cpu_time_s=1, wall_time_s=8))
    assert result.outcome is Outcome.CPU_TIME, result.message
    assert result.signal == signal.SIGXCPU and not result.killed


def test_one_huge_allocation_fails_at_the_memory_limit(box):
    result = box.run("b = bytearray(2 << 30)", replace(FAST, memory_bytes=256 * MIB))
    assert result.outcome is Outcome.MEMORY, result.message
    assert result.memory_exceeded and "MemoryError" in result.stderr.text


def test_growing_allocation_is_stopped(box):
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))"
    result = box.run(code, replace(FAST, memory_bytes=256 * MIB))
    assert result.outcome is Outcome.MEMORY, result.message
    assert result.duration_s < 5


def test_memory_spread_over_processes_is_killed_by_the_watchdog(box):
    # Each child stays under the per-process limit; together they exceed it.
    code = (
        "import os, time\n"
        "for _ in range(4):\n"
        "    if os.fork() == 0:\n"
        "        b = bytearray(150 << 20); time.sleep(30)\n"
        "time.sleep(30)\n"
    )
    result = box.run(code, replace(FAST, memory_bytes=400 * MIB))
    assert result.outcome is Outcome.MEMORY, result.message
    if result.isolation.limits == "watchdog":
        assert result.killed and "resident" in result.message
        assert result.peak_memory_bytes > 400 * MIB
    else:  # the run's cgroup: the kernel's OOM killer, then the sandbox ends the whole run
        assert "OOM killer" in result.message and result.signal == signal.SIGKILL
        assert result.peak_memory_bytes > 250 * MIB


def test_printing_50_megabytes_is_truncated_with_a_note(box):
    code = "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(50 * 1024): sys.stdout.write(line)\nprint('THE END')"
    limits = replace(FAST, output_head_bytes=4096, output_tail_bytes=4096)
    result = box.run(code, limits)
    assert result.outcome is Outcome.OK, result.message
    out = result.stdout
    assert out.total_bytes == 50 * 1024 * 1024 + len("THE END\n")
    assert out.truncated and out.dropped_bytes == out.total_bytes - 8192
    assert f"[... {out.dropped_bytes} bytes dropped by the sandbox" in out.text
    assert out.text.endswith("THE END\n") and len(out.text) < 8192 + 200


def test_fork_bomb_is_contained_and_cleaned_up(box):
    marker = f"forkbomb-{uuid.uuid4().hex}"
    code = (
        f"# {marker}\n"
        "import os, time\n"
        "n = 0\n"
        "for _ in range(10000):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        os.setsid(); time.sleep(60); os._exit(0)\n"
        "    n += 1\n"
        "print('forked', n, flush=True)\n"
    )
    result = box.run(code, replace(FAST, max_processes=40))
    assert result.outcome is Outcome.OK, result.message
    forked = int(result.stdout.text.split()[1])
    assert forked < 40
    assert result.stray_processes_killed >= forked
    assert processes_with(marker) == []


def test_background_process_does_not_outlive_the_run(box):
    marker = f"daemon-{uuid.uuid4().hex}"
    code = (
        f"# {marker}\n"
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "    os._exit(0)\n"
        "print('parent done')\n"
    )
    result = box.run(code)
    assert result.outcome is Outcome.OK, result.message
    assert result.stray_processes_killed >= 1
    assert processes_with(marker) == []


def test_grader_environment_is_not_passed_on(box, monkeypatch):
    monkeypatch.setenv("GRADER_TOKEN", "do-not-leak")
    result = box.run(
        "import os; print(os.environ.get('GRADER_TOKEN'), os.environ['COURSE_PART'])", env={"COURSE_PART": "scratch"}
    )
    assert result.outcome is Outcome.OK, result.message
    assert result.stdout.text == "None scratch\n"


def test_missing_program_is_a_sandbox_error(box):
    from autograder.sandbox import run_sandboxed

    result = run_sandboxed(
        ["/nonexistent/program"], workdir=box.workdir, writable_out=box.out, limits=FAST, isolation_level=box.level
    )
    assert result.outcome is Outcome.SANDBOX_ERROR
    assert "FileNotFoundError" in result.message


def test_output_folder_must_be_empty(box):
    (box.out / "stale.json").write_text("{}")
    with pytest.raises(ValueError, match="Expected `writable_out` to be an empty folder"):
        box.run("pass")
