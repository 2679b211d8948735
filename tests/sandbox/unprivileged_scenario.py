"""Runs sandbox cases as whatever user starts it and prints their outcomes as JSON.

`test_sandbox_unprivileged.py` starts it as `nobody` with the system Python, to test what a
TA's or student's machine does without root: the user-namespace bubblewrap level and the
plain level, where `RLIMIT_NPROC` counts the user's own processes.

Usage: python unprivileged_scenario.py REPO BASE LEVEL
"""

import json
import sys
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

CASES = {
    "exit3": ("import os; os._exit(3)", FAST),
    "loop": ("while True: pass", replace(FAST, wall_time_s=1.0)),
    "hidden": ("import sys; print(open(sys.argv[0] if False else HIDDEN).read())", FAST),
    "fork_bomb": (FORK_BOMB, replace(FAST, max_processes=40)),
    "memory": ("b = bytearray(2 << 30)", FAST),
}


def main() -> None:
    base, level = Path(sys.argv[2]), IsolationLevel(sys.argv[3])
    reason = unavailable_reason(level)
    if reason is not None:
        print(json.dumps({"unavailable": reason}))
        return
    results = {}
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
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
