"""Benchmark: prepare all Essen `deutschl` kern files, cold and warm, against sequential music21.

    python benchmarks/prepare_essen.py [--data ../shared/data/essen_kern/deutschl] [--jobs 2]

Cold: ``continuo prepare`` (a fresh process, as a user runs it) with an empty cache. Warm: the same
command again, everything in the cache. Baseline: the seeds' way, ``music21.converter.parse`` on
every file (no pickle cache), one after the other, in one process (``--music21-limit N`` times only the first N
files and extrapolates, when the full 2.5 minutes are too long). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "essen_kern" / "deutschl"


def time_prepare(data: Path, out: Path, cache: Path, jobs: int) -> tuple[float, dict]:
    env = {**os.environ, "CONTINUO_CACHE": str(cache)}
    command = [sys.executable, "-m", "continuo", "prepare", str(data), "--codec", "melody",
               "--out", str(out), "--jobs", str(jobs), "--json"]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(result.stdout)


def time_music21(files: list[Path]) -> float:
    import music21

    warnings.simplefilter("ignore")
    started = time.perf_counter()
    for path in files:
        with contextlib.suppress(Exception):  # a file music21 cannot parse still costs its time
            music21.converter.parse(path, forceSource=True, storePickle=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--music21-limit", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data}: not found (the Essen corpus is read from ../shared/data)")
    files = sorted(args.data.rglob("*.krn"))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cold, summary = time_prepare(args.data, tmp / "cold", tmp / "cache", args.jobs)
        warm, _ = time_prepare(args.data, tmp / "warm", tmp / "cache", args.jobs)

    sample = files[: args.music21_limit] if args.music21_limit else files
    m21 = time_music21(sample) * len(files) / len(sample)
    note = f" (first {len(sample)} files, extrapolated)" if args.music21_limit else ""
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; {len(files)} files, {summary['pieces']} pieces, "
          f"{summary['tokens']:,} tokens, {len(summary['skipped'])} skipped")  # fmt: skip
    print()
    print("| run | wall time (s) | files/s | vs music21 |")
    print("|---|---|---|---|")
    print(f"| sequential music21 parse{note} | {m21:.1f} | {len(files) / m21:.0f} | 1x |")
    for name, seconds in (("continuo prepare, cold", cold), ("continuo prepare, warm", warm)):
        print(f"| {name} ({args.jobs} jobs) | {seconds:.2f} | {len(files) / seconds:.0f} "
              f"| {m21 / seconds:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
