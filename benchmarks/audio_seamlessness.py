"""Seamlessness of `extend --method structure` against a naive crossfaded loop and PyMusicLooper.

Each recording in ../shared/data/audio is extended to a target length by every method, and every
splice is scored with continuo.evaluation.audio_metrics against the recording's own distribution:

- jump: percentile of the second-difference sample jump (50 = a typical sample of the song);
- flux: percentile of the spectral-flux peak (±2 frames) among the song's own flux peaks;
- excess: flux peak minus the song's own flux at the landing point, in median-flux units
  (0 = the splice adds nothing to the change the music makes there anyway);
- >p99: share of splices whose flux peak is above the song's 99th percentile;
- chroma: percentile of the chroma similarity across the splice (1 s each side; 50 = typical);
- tempo: mean |log2(tempo after / tempo before)| over 6 s windows (0 = unchanged);
- level: percentile of the RMS level step across the splice (0.5 s each side; 100 = a restart).

PyMusicLooper (https://github.com/arkrow/PyMusicLooper) runs from its own virtual environment
(`--pml`, default /tmp/bench-venv/bin/pymusiclooper); when it finds no loop with its defaults the
benchmark retries with --brute-force, and says so. Its `extend` plays intro + loop x k + a faded
partial loop with hard cuts at loop end -> loop start; the splice points follow from its loop
points (export-points).

    .venv/bin/python benchmarks/audio_seamlessness.py [--data ../shared/data/audio] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from continuo.audio.baselines import naive_loop
from continuo.audio.extender import Extender
from continuo.evaluation.audio_metrics import (
    chroma_continuity,
    loudness_continuity,
    splice_discontinuity,
    tempo_continuity,
)
from continuo.io.audio import read_audio, to_mono

TARGETS = {
    "brahms_hungarian_dance_5.ogg": 300.0,
    "trumpet_loop.ogg": 60.0,
    "vocadito_10.wav": 60.0,
}
COLUMNS = ["splices", "jump", "flux", "excess", ">p99", "chroma", "tempo", "level", "wall_s"]


def score(out: np.ndarray, sr: int, positions, landings, reference: np.ndarray) -> dict:
    """Mean per-splice metrics of ``out`` (mono) at sample ``positions``."""
    pos = np.asarray(positions, dtype=np.int64)
    land = np.asarray(landings, dtype=np.int64)
    if pos.size == 0:
        return {"splices": 0}
    disc = splice_discontinuity(out, pos, reference, land).summary()
    _, chroma_pct = chroma_continuity(out, sr, pos / sr, reference)
    tempo = tempo_continuity(out, sr, pos / sr)
    _, level_pct = loudness_continuity(out, sr, pos / sr, reference)
    return {
        "splices": int(pos.size),
        "jump": disc["jump_percentile"],
        "flux": disc["flux_percentile"],
        "excess": disc["flux_excess"],
        ">p99": disc["share_flux_above_p99"],
        "chroma": float(np.nanmean(chroma_pct)),
        "tempo": float(np.nanmean(tempo)) if np.isfinite(tempo).any() else float("nan"),
        "level": float(np.nanmean(level_pct)),
    }


def run_ours(path: Path, target: float, method: str) -> dict:
    audio = read_audio(path)
    clock = time.perf_counter()
    if method == "structure":
        ext = Extender.load("structure").extend(audio, target, progress=False)
    else:
        ext = naive_loop(audio, target)
    wall = time.perf_counter() - clock
    sr = audio.sample_rate
    pos = [round(s.output_time * sr) for s in ext.splices]
    land = [round((s.source_to or 0.0) * sr) for s in ext.splices]
    result = score(to_mono(ext.samples), sr, pos, land, to_mono(audio.samples))
    result["wall_s"] = wall
    result["ending"] = ext.ending
    return result


def run_control(path: Path) -> dict:
    """The unmodified recording scored at its own inner beat boundaries: what a "splice" onto the
    very next beat (no jump at all) scores, the floor the extenders are aiming at."""
    from continuo.audio.analysis import analyze_beats

    audio = read_audio(path)
    mono = to_mono(audio.samples)
    bounds = analyze_beats(mono, audio.sample_rate).boundaries[1:-1]
    result = score(mono, audio.sample_rate, bounds, bounds, mono)
    result["wall_s"] = 0.0
    result["note"] = "no splice: the song at its beats"
    return result


def run_pml(path: Path, target: float, exe: Path) -> dict:
    """PyMusicLooper's extend on ``path``; its splice points from its loop points."""
    audio = read_audio(path)
    sr = audio.sample_rate
    note = ""
    points = _pml_points(exe, path, [])
    extra: list[str] = []
    if points is None:
        extra = ["--brute-force"]
        note = "brute-force"
        points = _pml_points(exe, path, extra)
    if points is None:
        return {"splices": 0, "note": "no loop found"}
    start, end = points
    with tempfile.TemporaryDirectory() as tmp:
        clock = time.perf_counter()
        subprocess.run(
            [
                str(exe),
                "extend",
                "--path",
                str(path),
                "--extended-length",
                str(target),
                "--format",
                "WAV",
                "-o",
                tmp,
                *extra,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - clock
        (made,) = list(Path(tmp).glob("*.wav"))
        out = read_audio(made)
    loop = end - start
    pos = [end + k * loop for k in range(int((out.n_samples - end) // loop) + 1)]
    pos = [p for p in pos if p < out.n_samples - int(0.01 * sr)]
    result = score(to_mono(out.samples), sr, pos, [start] * len(pos), to_mono(audio.samples))
    result["wall_s"] = wall
    result["note"] = note
    result["loop_s"] = [start / sr, end / sr]
    return result


def _pml_points(exe: Path, path: Path, extra: list[str]) -> tuple[int, int] | None:
    proc = subprocess.run(
        [str(exe), "export-points", "--path", str(path), "--fmt", "samples", *extra],
        capture_output=True,
        text=True,
    )
    text = proc.stdout + proc.stderr
    a = re.search(r"LOOP_START:\s*(\d+)", text)
    b = re.search(r"LOOP_END:\s*(\d+)", text)
    return (int(a.group(1)), int(b.group(1))) if a and b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data" / "audio")
    parser.add_argument("--pml", type=Path, default=Path("/tmp/bench-venv/bin/pymusiclooper"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", help="run only the files whose name contains this")
    args = parser.parse_args()
    rows = []
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, target in TARGETS.items():
        if args.only and args.only not in name:
            continue
        path = args.data / name
        if not path.exists():
            print(f"skipping {path}: not here")
            continue
        methods = {
            "original (control)": lambda p=path: run_control(p),
            "structure": lambda p=path, t=target: run_ours(p, t, "structure"),
            "naive loop": lambda p=path, t=target: run_ours(p, t, "naive"),
        }
        if args.pml.exists() and args.pml.name != "none":
            methods["PyMusicLooper"] = lambda p=path, t=target: run_pml(p, t, args.pml)
        for method, fn in methods.items():
            result = fn()
            rows.append({"file": name, "target_s": target, "method": method, **result})
            print(_row(rows[-1]), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\n| file | target | method | " + " | ".join(COLUMNS) + " | note |")
    print("|---" * (len(COLUMNS) + 4) + "|")
    for row in rows:
        print(_row(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def _row(row: dict) -> str:
    cells = []
    for col in COLUMNS:
        v = row.get(col, float("nan"))
        cells.append(str(v) if isinstance(v, int) else f"{v:.2f}")
    note = row.get("note", "") or row.get("ending", "")
    return (
        f"| {row['file']} | {row['target_s']:.0f} s | {row['method']} | "
        + " | ".join(cells)
        + f" | {note} |"
    )


if __name__ == "__main__":
    main()
