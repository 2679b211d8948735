"""Hostile submissions get no undeserved points, never crash or hang the grader, and are told why.

Parts are isolated, so each submission carries one hostile behaviour per module; the other
parts of the same submission must still be graded as usual.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time

import pytest

from autograder.grading.runner import Grader
from autograder.sandbox import GIB, Limits
from tests.conftest import TEST_PROFILE

STUB_DIR = "assignments/transfer_learning"


def stub(ctx, module: str) -> str:
    return (ctx.release_dir / module).read_text()


def reference(ctx, module: str) -> str:
    return (ctx.solutions_dir / module).read_text()


@pytest.fixture(scope="module")
def listener():
    """A loopback server outside the sandbox; it records every connection it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            seen.append("connected")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


class Descendants:
    """Every process below this one while the block runs: sandboxes, workers and what they forked.

    Exact beside other tests' sandboxes (pytest-xdist), which are not below this process; a fork
    that escaped its sandbox was below it when it was made, and is still alive afterwards.
    """

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            running = _running()
            children: dict[int, list[int]] = {}
            for info in running.values():
                children.setdefault(info.ppid, []).append(info.pid)
            # Descendants only (not `procs.family`, which adds this process's group: a pipe's other
            # end may share it and outlive the grading).
            below = list(children.get(os.getpid(), ()))
            while below:
                pid = below.pop()
                self.seen.add((pid, running[pid].start))
                below.extend(children.get(pid, ()))
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def alive(self) -> list[int]:
        """Those of the seen processes that are still running (the same pid and start time)."""
        running = _running()
        return sorted(pid for pid, start in self.seen if pid in running and running[pid].start == start)


def _running() -> dict:
    """pid -> `procs.ProcInfo` of every process now running (zombies are done)."""
    from autograder.sandbox import procs

    return {pid: info for pid, info in procs.snapshot().items() if info.state not in ("Z", "X")}


@pytest.fixture(scope="module")
def hostile(ctx, tmp_path_factory, listener):
    """Three hostile submissions and their results, graded with short limits."""
    from autograder.data import locate_hidden_test

    port, _ = listener
    root = tmp_path_factory.mktemp("hostile")
    grader_out = root / "grader-out"
    grader_out.mkdir()
    hidden_images = locate_hidden_test(ctx.config, ctx.locations)
    one_hidden = next((hidden_images / "cats").iterdir())
    steal = (
        "import sys\n"
        "for target in [%r, %r]:\n"
        "    try:\n"
        "        exec(open(target).read(), globals())\n"
        "        print('STOLE', target, file=sys.stderr)\n"
        "    except Exception as exc:\n"
        "        print('READ FAILED', type(exc).__name__, file=sys.stderr)\n"
        "import os\n"
        "for folder in [%r, %r]:\n"
        "    try:\n"
        "        print('LISTED', len(os.listdir(folder)), file=sys.stderr)\n"
        "    except Exception as exc:\n"
        "        print('LIST FAILED', type(exc).__name__, file=sys.stderr)\n"
    ) % (str(ctx.solutions_dir / "augmentation.py"), str(one_hidden), str(hidden_images / "dogs"), str(ctx.solutions_dir / "checks"))
    forever = "while True:\n    pass\n"
    memory = "hog = []\nwhile True:\n    hog.append(bytearray(64 * 1024 * 1024))\n"
    hard_exit = "import os\nos._exit(3)\n"
    soft_exit = "import sys\nsys.exit(0)\n"
    shout = "print('x' * 50_000_000)\n"
    fork_bomb = (
        "import os, time\n"
        "children = 0\n"
        "for _ in range(10_000):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(60)\n"
        "            os._exit(0)\n"
        "        children += 1\n"
        "    except OSError:\n"
        "        break\n"
        "print('FORKED', children, file=__import__('sys').stderr)\n"
    )
    forge = (
        "import json, os\n"
        "fake = json.dumps({'score': 100, 'tests': []})\n"
        "for folder in ['.', os.environ.get('SANDBOX_OUT', '.'), %r]:\n"
        "    try:\n"
        "        open(os.path.join(folder, 'results.json'), 'w').write(fake)\n"
        "    except Exception:\n"
        "        pass\n"
    ) % str(grader_out)
    patch = (
        "import autograder.checks.tta as t, autograder.checks.result as r\n"
        "t.check_ten_crops = lambda *a, **k: r.passed('ten crops')\n"
        "import numpy as np\n"
        "class AlwaysEqual:\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        "        return np.array([AlwaysEqual()], dtype=object)\n"
    )
    always_equal = "\n\ndef ten_crops(images, crop_size):\n    return AlwaysEqual()\n\n\ndef predict_with_tta(model, images, crop_size):\n    return AlwaysEqual()\n"
    network = (
        "import socket, sys\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', %d), timeout=3).close()\n"
        "    print('CONNECTED', file=sys.stderr)\n"
        "except OSError as exc:\n"
        "    print('NETWORK FAILED', type(exc).__name__, file=sys.stderr)\n"
    ) % port
    submissions = {
        "hostile_a": {
            "augmentation.py": stub(ctx, "augmentation.py") + steal,
            "scratch.py": forever,
            "feature_extraction.py": memory,
            "fine_tuning.py": hard_exit,
        },
        "hostile_b": {
            "augmentation.py": shout + reference(ctx, "augmentation.py"),
            "scratch.py": fork_bomb + stub(ctx, "scratch.py"),
            "feature_extraction.py": forge + stub(ctx, "feature_extraction.py"),
            "fine_tuning.py": soft_exit,
        },
        "hostile_c": {
            "augmentation.py": patch + reference(ctx, "augmentation.py") + always_equal,
            "scratch.py": stub(ctx, "scratch.py"),
            "feature_extraction.py": network + stub(ctx, "feature_extraction.py"),
            "fine_tuning.py": stub(ctx, "fine_tuning.py"),
        },
    }
    # The endless loop (hostile_a) runs to its wall-time limit, so that limit is short: 20 s. The
    # other two submissions' honest parts must finish, and a worker that takes about 5 s alone took
    # more than 20 s in CI with other tests' sandboxes beside it (pytest-xdist on 2 cores), so they
    # get the room a class's batch would (nothing of theirs runs to the limit).
    short = Limits(wall_time_s=20, memory_bytes=3 * GIB, max_processes=128)
    roomy = Limits(wall_time_s=300, memory_bytes=3 * GIB, max_processes=128)
    grader = Grader(ctx, TEST_PROFILE, ctx.solutions_dir / "checks")
    results, survivors = {}, {}
    for name, files in submissions.items():
        folder = root / name
        folder.mkdir()
        for module, text in files.items():
            (folder / module).write_text(text)
        grader.limits = short if name == "hostile_a" else roomy
        with Descendants() as processes:
            results[name] = grader.grade(folder)
        survivors[name] = processes
    yield results, grader_out, survivors
    shutil.rmtree(root, ignore_errors=True)


def part(result, name):
    return next(p for p in result.parts if p.part == name)


@pytest.mark.slow
def test_reading_solutions_or_hidden_images_fails(hostile):
    results, _, _ = hostile
    augmentation = part(results["hostile_a"], "augmentation")
    assert augmentation.score == 0
    tail = augmentation.sandbox.output_tail
    assert "STOLE" not in tail and "LISTED" not in tail
    assert tail.count("READ FAILED") == 2 and tail.count("LIST FAILED") == 2


@pytest.mark.slow
def test_an_endless_loop_costs_its_part_only(hostile):
    results, _, _ = hostile
    scratch = part(results["hostile_a"], "scratch")
    assert scratch.sandbox.outcome == "timeout" and scratch.score == 0
    assert all("Not checked" in c.message and "timeout" in c.message for c in scratch.checks)


@pytest.mark.slow
def test_unbounded_memory_is_stopped(hostile):
    results, _, _ = hostile
    features = part(results["hostile_a"], "feature_extraction")
    assert features.score == 0
    # Either the limit stops the allocation (MemoryError at import) or the watchdog kills the worker.
    assert features.sandbox.outcome == "memory" or "MemoryError" in features.checks[0].message


@pytest.mark.slow
def test_exits_at_import_are_reported(hostile):
    results, _, _ = hostile
    hard = part(results["hostile_a"], "fine_tuning")
    soft = part(results["hostile_b"], "fine_tuning")
    assert hard.score == 0 and soft.score == 0
    assert "exit" in hard.checks[0].message.lower() or "import" in hard.checks[0].message
    assert "SystemExit" in soft.checks[0].message


@pytest.mark.slow
def test_printing_megabytes_is_truncated_and_the_part_still_graded(hostile, ctx):
    results, _, _ = hostile
    augmentation = part(results["hostile_b"], "augmentation")
    assert augmentation.score == pytest.approx(ctx.config.parts["augmentation"].points)
    assert len(augmentation.sandbox.output_tail) <= 6000


@pytest.mark.slow
def test_fork_bomb_is_contained(hostile):
    results, _, survivors = hostile
    scratch = part(results["hostile_b"], "scratch")
    assert scratch.score == 0
    # Stopped by the process limit (the forks fail and the worker ends normally, or TensorFlow, which
    # cannot start its threads under the cap, aborts it: "signaled"), or by the watchdog ("memory").
    assert scratch.sandbox.outcome in ("ok", "signaled", "memory"), scratch.sandbox
    # The bomb's children sleep 60 s; none of the processes a grading made may outlive it.
    forked = int(re.search(r"FORKED (\d+)", scratch.sandbox.output_tail).group(1))
    assert forked > 0 and len(survivors["hostile_b"].seen) > forked, "the watcher missed the bomb's children"
    assert {name: processes.alive() for name, processes in survivors.items()} == {name: [] for name in survivors}


@pytest.mark.slow
def test_forged_results_are_ignored(hostile):
    results, grader_out, _ = hostile
    assert part(results["hostile_b"], "feature_extraction").score == 0
    assert not (grader_out / "results.json").exists()
    assert results["hostile_b"].to_gradescope()["score"] == results["hostile_b"].score < 100


@pytest.mark.slow
def test_patching_the_grader_or_always_equal_objects_earn_nothing(hostile):
    results, _, _ = hostile
    augmentation = part(results["hostile_c"], "augmentation")
    [crops] = [c for c in augmentation.checks if c.name.startswith("ten_crops")]
    [tta] = [c for c in augmentation.checks if "tta" in c.name.lower()]
    assert crops.score == 0 and tta.score == 0
    # What comes back is not data the grader can use (the object cannot become an array).
    assert crops.message.startswith("Not checked:") and tta.message.startswith("Not checked:")


@pytest.mark.slow
def test_network_is_unreachable_and_the_part_still_graded(hostile, listener):
    results, _, _ = hostile
    _, seen = listener
    features = part(results["hostile_c"], "feature_extraction")
    assert seen == []
    assert "NETWORK FAILED" in features.sandbox.output_tail
    assert features.sandbox.outcome == "ok"
