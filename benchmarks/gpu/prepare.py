"""Pack what `benchmarks/gpu/run.sh` needs on a GPU machine that has no network and no TensorFlow.

Run here (with network to the package registry), before the device call:

    .venv/bin/python benchmarks/gpu/prepare.py --data-dir ../shared/data --weights-dir ../shared/weights/keras

It writes `.gpu/` (ignored by git; the device call names it in `carry`), which must fit the
device's 64 MiB transfer together with the repository:

- `.gpu/data/`: the lab's dataset and hidden split, every image re-encoded at 224x224 (JPEG). The
  loader squashes every image to a square of the profile's size anyway (bilinear), so a 224 px
  square keeps what the `gpu` profile's sizes (150, 160, 224) see; the originals (163 MB) do not fit.
- `.gpu/weights/`: the ImageNet weight files the lab's profiles ask for, where they are here.
- `.gpu/wheels/`: Python 3.12 wheels of the packages the GPU machine lacks (Keras, pydantic,
  nbformat and what they need), at the versions installed here, for `pip install --no-index`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIMIT_MIB = 64  # the device's working-tree transfer, repository included

# What the GPU machine's Python lacks (/work/.library/device/KINDS.md lists what it has: JAX,
# PyTorch, numpy, h5py, ml-dtypes, rich, typer, pyyaml, scikit-learn, matplotlib, pillow, pytest...).
MISSING = (
    "keras", "namex", "optree",
    "pydantic", "pydantic-core", "annotated-types", "typing-inspection",
    "nbformat", "fastjsonschema", "jsonschema", "jsonschema-specifications", "referencing", "rpds-py",
    "jupyter-core", "traitlets", "platformdirs",
)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64", "manylinux_2_24_x86_64", "manylinux_2_31_x86_64", "manylinux_2_34_x86_64")


def reencode(source: Path, target: Path, size: int, quality: int) -> int:
    """Every JPEG under `source` as a `size` px square under `target` (same relative path); the count."""
    from PIL import Image  # noqa: PLC0415

    count = 0
    for path in sorted(source.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with Image.open(path) as image:
                image.convert("RGB").resize((size, size), Image.LANCZOS).save(out.with_suffix(".jpg"), "JPEG", quality=quality)
        except OSError as exc:  # an unreadable file stays unreadable there: the loader skips it, as here
            print(f"  skipped {path}: {exc}", file=sys.stderr)
            continue
        count += 1
    return count


def download_wheels(target: Path, python_version: str) -> list[str]:
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for name in MISSING:
        version = importlib.metadata.version(name)
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, "--implementation", "cp", "-d", str(target), f"{name}=={version}",
        ]
        for platform in PLATFORMS:
            command += ["--platform", platform]
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            sys.exit(f"error: could not download a Python {python_version} wheel of {name}=={version}:\n{run.stderr[-1500:]}")
        names.append(f"{name}=={version}")
    return names


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the folder holding the lab's dataset folders")
    parser.add_argument("--weights-dir", type=Path, required=True, help="Keras ImageNet .h5 files under their names")
    parser.add_argument("--out", type=Path, default=REPO / ".gpu")
    parser.add_argument("--lab", default="transfer_learning")
    parser.add_argument("--size", type=int, default=224, help="side of the re-encoded squares (>= the largest size a profile reads)")
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    parser.add_argument("--no-wheels", action="store_true", help="leave the wheels out (a CPU rehearsal with this venv)")
    args = parser.parse_args(argv)

    from autograder.bases import WeightsNotFoundError, resolve_weights  # noqa: PLC0415
    from autograder.config import load_config  # noqa: PLC0415

    config = load_config(REPO / "course.yaml", args.lab)
    if args.out.exists():
        shutil.rmtree(args.out)
    for folder in (config.data.dataset, config.data.hidden_test):
        source = args.data_dir / folder
        if not source.is_dir():
            sys.exit(f"error: expected the dataset folder {source}. Pass --data-dir.")
        count = reencode(source, args.out / "data" / folder, args.size, args.quality)
        print(f"data: {folder}: {count} images at {args.size} px")
    weights = args.out / "weights"
    weights.mkdir(parents=True)
    profiles = [*config.profiles.values(), *config.offline_fallbacks.values()]
    for profile in profiles:
        base = getattr(profile, "base", None)
        try:
            file = resolve_weights(base.architecture, base.alpha, base.image_size, args.weights_dir, download=False)
        except WeightsNotFoundError:
            continue
        if not (weights / file.name).exists():
            shutil.copyfile(file, weights / file.name)
            print(f"weights: {file.name}")
    if not args.no_wheels:
        print("wheels: " + ", ".join(download_wheels(args.out / "wheels", args.python_version)))
    total = folder_mib(args.out) + sum(
        (REPO / p).stat().st_size for p in subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
        if (REPO / p).is_file()
    ) / 2**20
    print(f"{args.out}: {folder_mib(args.out):.1f} MiB; with the repository {total:.1f} MiB of the device's {LIMIT_MIB} MiB")
    if total > LIMIT_MIB:
        print(f"error: over the device's {LIMIT_MIB} MiB: lower --quality or --size", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
