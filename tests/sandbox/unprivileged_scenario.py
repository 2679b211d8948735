"""Runs sandbox cases as whatever user starts it and prints their outcomes as JSON.

`test_sandbox_unprivileged.py` starts it as `nobody` with the system Python, to test what a
TA's or student's machine does without root: the user-namespace bubblewrap level and the
plain level, where `RLIMIT_NPROC` counts the user's own processes.

Usage: python unprivileged_scenario.py REPO BASE LEVEL
"""

import json
import sys
import threading
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, str(Path(__file__).parent))

from sandbox_testing import FAST, Box  # noqa: E402

from autograder.sandbox import IsolationLevel, unavailable_reason  # noqa: E402

FORK_BOMB = """
import os, time
n = 0
for _ in range(10000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.setsid(); time.sleep(60); os._exit(0)
    n += 1
print(n)
"""

# 2.4 GiB held outside any process's RSS: a memfd, the private /tmp and /dev/shm.
SHARED_MEMORY_HOG = """
import os, time
chunk = b"x" * (16 << 20)
def fill(fd, total):
    n = 0
    while n < total:
        os.write(fd, chunk); n += len(chunk)
for i in range(4):  # each under RLIMIT_FSIZE
    fill(os.memfd_create("hog%d" % i), 350 << 20)
for path in ("/tmp/hog", "/dev/shm/hog"):
    try:
        fill(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600), 500 << 20)
    except OSError:
        pass
print("held", flush=True)
time.sleep(5)
"""

THREADS = """
import threading, time
threads = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(30)]
for t in threads: t.start()
for t in threads: t.join()
print(len(threads))
"""

# The grader's own threads (TensorFlow has dozens): they must not eat the code's task budget.
GRADER_THREADS = 60

CASES = {
    "exit3": ("import os; os._exit(3)", FAST),
    "loop": ("while True: pass", replace(FAST, wall_time_s=1.0)),
    "hidden": ("import sys; print(open(sys.argv[0] if False else HIDDEN).read())", FAST),
    "fork_bomb": (FORK_BOMB, replace(FAST, max_processes=40)),
    "memory": ("b = bytearray(2 << 30)", FAST),
    "shared_memory": (SHARED_MEMORY_HOG, FAST),
    "threads": (THREADS, replace(FAST, max_processes=40)),
}


def main() -> None:
    base, level = Path(sys.argv[2]), IsolationLevel(sys.argv[3])
    reason = unavailable_reason(level)
    if reason is not None:
        print(json.dumps({"unavailable": reason}))
        return
    results = {}
    stop = threading.Event()
    grader_threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(GRADER_THREADS)]
    for thread in grader_threads:
        thread.start()
    for name, (code, limits) in CASES.items():
        box = Box(level, base / name)
        code = code.replace("HIDDEN", repr(str(box.hidden_file)))
        result = box.run(code, limits)
        results[name] = {
            "outcome": result.outcome.value,
            "exit_code": result.exit_code,
            "stdout": result.stdout.text[-200:],
            "stderr": result.stderr.text[-300:],
            "strays": result.stray_processes_killed,
            "uid": result.isolation.uid,
            "warnings": list(result.isolation.warnings),
            "limits": result.isolation.limits,
            "message": result.message,
        }
    stop.set()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
