"""The sandboxed worker: `python -m autograder.probes.worker REQUEST_JSON`.

Imports one student module and runs that part's probes, writing the report after every probe
so that a crash, `os._exit` or a kill at the time limit still leaves what was done. The exit
code means nothing to the grader: it reads the report and the artifacts, as data.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from autograder.probes.protocol import REPORT, ProbeOutcome, ProbeRequest

TRACEBACK_LIMIT = 4000


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    if len(text) > TRACEBACK_LIMIT:
        text = text[: TRACEBACK_LIMIT // 4] + "\n[...]\n" + text[-3 * TRACEBACK_LIMIT // 4 :]
    return text


def _write(out: Path, outcomes: list[ProbeOutcome], running: str | None) -> None:
    report = {"outcomes": [asdict(o) for o in outcomes], "running": running}
    tmp = out / f".{REPORT}.tmp"
    tmp.write_text(json.dumps(report), encoding="utf-8")
    os.replace(tmp, out / REPORT)


def run(request: ProbeRequest) -> list[ProbeOutcome]:
    """Run every probe of the request's part; never raises for anything the student code does."""
    from autograder.probes.context import ProbeContext  # noqa: PLC0415
    from autograder.probes.declare import LabProbes  # noqa: PLC0415
    from autograder.training.lab_modules import import_module_from  # noqa: PLC0415
    from autograder.training.seeding import seed_everything  # noqa: PLC0415

    out = Path(request.out)
    out.mkdir(parents=True, exist_ok=True)
    outcomes: list[ProbeOutcome] = []
    _write(out, outcomes, "import")
    # The lab's probes are imported before the student's module, which cannot change them then.
    declared = LabProbes.read(Path(request.probes_file)).by_part.get(request.part, ())
    probes = [spec.function for spec in declared if request.probes is None or spec.name in request.probes]
    sys.path.insert(0, str(Path(request.module).parent))  # the submission may import its own files
    try:
        module = import_module_from(Path(request.module), f"submission_{request.part}")
    except BaseException as exc:  # noqa: BLE001  (SystemExit at import included)
        message = f"importing {Path(request.module).name} failed:\n{_describe(exc)}"
        outcomes = [ProbeOutcome(p.__name__, False, 0.0, message) for p in probes]
        _write(out, outcomes, None)
        return outcomes
    ctx = ProbeContext(request.settings, Path(request.inputs), out)
    for probe in probes:
        _write(out, outcomes, probe.__name__)
        start = time.perf_counter()
        try:
            seed_everything(int(request.settings.get("seed", 0)))  # same initial weights every time
            details = probe(module, ctx) or {}
            outcomes.append(ProbeOutcome(probe.__name__, True, time.perf_counter() - start, None, details))
        except BaseException as exc:  # noqa: BLE001
            outcomes.append(ProbeOutcome(probe.__name__, False, time.perf_counter() - start, _describe(exc)))
    _write(out, outcomes, None)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m autograder.probes.worker REQUEST_JSON", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run(ProbeRequest.read(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
