"""Benchmark: ``continuo prepare`` on synthetic MIDI corpora of growing size, cold and warm.

    python benchmarks/prepare_scale.py [--sizes 1000 10000 100000] [--jobs 2] [--work DIR]
                                       [--markdown] [--json FILE]

The benchmark writes its own corpora: ``N`` monophonic MIDI files of 24 to 48 notes (random walks
on a major scale, 1,000 files to a folder), the same first files for every ``N``. For each size
it runs ``continuo prepare DIR --codec melody --out OUT --json`` in a fresh process, as a user
does: **cold** with an empty cache, then **warm** with everything cached. It reports the wall
time, the time per 1,000 files, and two peak resident set sizes: the largest single process
(``ru_maxrss`` of the process tree, from ``wait4``) and the largest sum over the processes
(``/proc/PID/status`` sampled every 50 ms; prepare's worker processes are children of it).

The target (issue 15): time linear in the corpus, peak memory independent of it, within 20%.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SCALE = [0, 2, 4, 5, 7, 9, 11]


def write_corpus(folder: Path, count: int) -> None:
    """``count`` MIDI files under ``folder`` (made once; a larger corpus reuses a smaller one's)."""
    import symusic

    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        sub = folder / f"part{n // 1000:03d}"
        path = sub / f"song{n:06d}.mid"
        if path.exists():
            continue
        sub.mkdir(exist_ok=True)
        rng = np.random.default_rng(n)
        score = symusic.Score(480)
        score.tempos.append(symusic.Tempo(0, 120.0))
        score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
        track = symusic.Track("melody", 0, False)
        time_, degree = 0, int(rng.integers(7, 14))
        for _ in range(int(rng.integers(24, 49))):
            length = int(rng.choice([240, 480, 480, 960]))
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 20))
            pitch = 48 + 12 * (degree // 7) + SCALE[degree % 7]
            track.notes.append(symusic.Note(time_, length, pitch, 80))
            time_ += length
        score.tracks.append(track)
        score.dump_midi(path)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def run_prepare(corpus: Path, out: Path, cache: Path, jobs: int) -> dict:
    """One ``continuo prepare`` in a fresh process: seconds, peak RSS (MiB), its summary."""
    env = {**os.environ, "CONTINUO_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "continuo", "prepare", str(corpus), "--codec", "melody",
               "--out", str(out), "--jobs", str(jobs), "--json"]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_sum = peak_main = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_sum, peak_main
        while not done.is_set():
            peak_sum = max(peak_sum, sum(_rss_kb(p) for p in _tree(process.pid)))
            peak_main = max(peak_main, _rss_kb(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"continuo prepare failed:\n{stderr.decode()}")
    return {
        "seconds": round(seconds, 2),
        "peak_main_mib": round(peak_main / 1024, 1),
        "peak_sum_mib": round(peak_sum / 1024, 1),
        "summary": json.loads(stdout),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", type=Path, help="where the corpora stay (default: a temp dir)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="continuo-prepare-scale-"))
    rows = []
    for size in sorted(args.sizes):
        corpus = work / f"corpus-{size}"
        made = time.perf_counter()
        write_corpus(corpus, size)
        print(f"{size:,} files written in {time.perf_counter() - made:.0f} s", file=sys.stderr)
        cache, out = work / f"cache-{size}", work / f"dataset-{size}"
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        for kind in ("cold", "warm"):
            result = run_prepare(corpus, out, cache, args.jobs)
            summary = result.pop("summary")
            row = {"files": size, "build": kind, **result, "tokens": summary["tokens"],
                   "parsed": summary["parsed"], "cached": summary["cached"]}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        shutil.rmtree(cache, ignore_errors=True)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    if args.markdown:
        print(markdown(rows, machine, args))


def markdown(rows: list[dict], machine: str, args: argparse.Namespace) -> str:
    lines = [
        f"`python benchmarks/prepare_scale.py --sizes {' '.join(map(str, args.sizes))} "
        f"--jobs {args.jobs} --markdown` on {machine}:",
        "",
        "| files | build | wall time | per 1,000 files | peak RSS, main | peak RSS, all | tokens |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['files']:,} | {row['build']} | {row['seconds']:.1f} s | "
            f"{1000 * row['seconds'] / row['files']:.2f} s | {row['peak_main_mib']:.0f} MiB | "
            f"{row['peak_sum_mib']:.0f} MiB | "
            f"{row['tokens']:,} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
