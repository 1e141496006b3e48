"""Benchmark: a folder of MIDI files end to end, as a user runs it, with wall times.

    nice -n 10 python benchmarks/midi_folder.py [--codec events] [--max-steps 120]

No folder of piano MIDI ships with continuo or ``../shared/data``, so the folder is made first
from a real corpus: music21's bundled Bach chorales (``music21:bach``, 349 files), each written
as a type-1 MIDI file (four tracks, 480 ticks per quarter). Then four ``continuo`` commands, each
a fresh process with ``OMP_NUM_THREADS=2`` (the two cores; ``--threads``), timed:

1. ``continuo prepare FOLDER --codec events --out DATA --json`` (cold cache);
2. ``continuo train DATA --model transformer --preset small --max-steps N --out RUN`` (briefly);
3. ``continuo generate --model RUN --num-outputs 4 --bars 8 --rng-seed 0 --out OUT``: four
   pieces, each as MIDI, MusicXML, WAV and PNG;
4. ``continuo evaluate RUN DATA --stats --num-pieces 16 --json``: the statistics of 16
   generated pieces against 16 held-out chorales.

Prints a JSON summary, and with ``--markdown`` the tables for ``RESULTS-polyphony.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_folder(folder: Path, limit: int | None) -> tuple[int, float]:
    """Write music21's Bach chorales as MIDI into ``folder``; returns (files, seconds)."""
    from continuo import io

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    paths = io.music21_corpus_paths("music21:bach")[:limit]
    for path in paths:
        io.write_midi(io.read_score(path), folder / f"{path.stem.replace('.', '_')}.mid")
    return len(paths), time.perf_counter() - started


def continuo(*args: str, cache: Path, threads: int) -> tuple[float, str]:
    """Run ``continuo ARGS`` in a fresh process; returns (wall seconds, stdout)."""
    env = {**os.environ, "CONTINUO_CACHE": str(cache), "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "continuo", *args]
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return seconds, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", default="events", choices=("events", "pianoroll"))
    parser.add_argument("--max-steps", type=int, default=120)
    parser.add_argument("--limit", type=int, help="only the first N chorales")
    parser.add_argument("--num-pieces", type=int, default=16, help="per set, for --stats")
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of each step")
    parser.add_argument("--out", type=Path, help="keep everything here")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        folder, data, run, out = root / "bach-midi", root / "data", root / "run", root / "out"
        files, making = make_folder(folder, args.limit)
        cache = root / "cache"
        steps: dict[str, float] = {}
        steps["prepare"], text = continuo(
            "prepare", str(folder), "--codec", args.codec, "--out", str(data), "--json",
            cache=cache, threads=args.threads,
        )  # fmt: skip
        prepared = json.loads(text)
        steps["train"], train_log = continuo(
            "train", str(data), "--model", "transformer", "--preset", "small",
            "--max-steps", str(args.max_steps), "--batch-size", "8", "--block-size", "256",
            "--warmup-steps", "20", "--out", str(run), cache=cache, threads=args.threads,
        )  # fmt: skip
        steps["generate"], written = continuo(
            "generate", "--model", str(run), "--num-outputs", "4", "--bars", "8",
            "--rng-seed", "0", "--out", str(out), cache=cache, threads=args.threads,
        )  # fmt: skip
        steps["evaluate"], text = continuo(
            "evaluate", str(run), str(data), "--stats", "--num-pieces", str(args.num_pieces),
            "--json", cache=cache, threads=args.threads,
        )  # fmt: skip
        evaluation = json.loads(text)
        pieces = _describe(sorted(Path(p) for p in written.split() if p.endswith(".mid")))

    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end, OMP_NUM_THREADS={args.threads}",
        "folder": {"files": files, "seconds_to_write": round(making, 1)},
        "prepared": {k: prepared[k] for k in ("pieces", "tokens", "splits", "skipped")},
        "wall_seconds": {k: round(v, 1) for k, v in steps.items()},
        "train_log": train_log.strip().splitlines()[-3:],
        "generated": pieces,
        "evaluation": evaluation,
    }
    print(json.dumps(summary, indent=2))
    if args.markdown:
        print(_markdown(summary))


def _describe(paths: list[Path]) -> list[dict]:
    """Notes, chords (onsets with 2+ notes), distinct durations and length of each MIDI file."""
    import numpy as np

    from continuo.io import read_midi
    from continuo.score import note_table

    described = []
    for path in paths:
        score = read_midi(path)
        table = note_table(score)
        _, counts = np.unique(table[:, 0], return_counts=True)
        described.append(
            {
                "file": path.name,
                "notes": len(table),
                "chords": int((counts >= 2).sum()),
                "durations": len(np.unique(table[:, 1])),
                "quarters": score.end() / score.ticks_per_quarter,
            }
        )
    return described


def _markdown(summary: dict) -> str:
    lines = ["| step | wall time (s) |", "|---|---|"]
    lines += [f"| `continuo {k}` | {v} |" for k, v in summary["wall_seconds"].items()]
    stats = summary["evaluation"]["stats"]
    lines += [
        "",
        f"| statistic ({stats['generated']} generated vs {stats['reference']} test, "
        f"{stats['quarters']:g} quarters) | generated | held-out | overlap | KL | value overlap |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in stats["metrics"].items():
        lines.append(
            f"| {name} | {_cell(m['generated_mean'], m['generated_std'])} | "
            f"{_cell(m['reference_mean'], m['reference_std'])} | {_number(m['overlap'])} | "
            f"{_number(m['kl'])} | {_number(m['value_overlap'])} |"
        )
    return "\n".join(lines)


def _cell(mean: object, std: object) -> str:
    if isinstance(mean, float | int) and isinstance(std, float | int):
        return f"{mean:.3g} ± {std:.2g}"
    return "(histogram)" if isinstance(mean, list) else "-"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
