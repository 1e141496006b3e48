"""Wall time of `continuo extend` (structure) from a cold process: the 46 s Brahms piece to 5 min.

Runs the real command line in a fresh interpreter ``--runs`` times (imports, librosa's numba
functions from their cache, analysis, planning, rendering, writing the file), and reports wall and
CPU time of each run, plus an in-process breakdown by stage of one more run. Target: <= 10 s on
2 cores.

    .venv/bin/python benchmarks/audio_walltime.py [--input ../shared/data/audio/brahms_hungarian_dance_5.ogg]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cold_runs(src: Path, duration: float, runs: int) -> list[tuple[float, float]]:
    """(wall s, user + system CPU s) of each run of the CLI in a new process."""
    exe = Path(sys.executable).with_name("continuo")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(runs):
            out = Path(tmp) / f"out{k}.wav"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            clock = time.perf_counter()
            subprocess.run(
                [str(exe), "extend", str(src), "--duration", str(duration), "--out", str(out)],
                check=True,
                capture_output=True,
            )
            wall = time.perf_counter() - clock
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            results.append((wall, cpu))
    return results


def stages(src: Path, duration: float) -> dict[str, float]:
    """Seconds per stage, in this process (imports already paid)."""
    from continuo.audio.analysis import analyze_beats
    from continuo.audio.extension import fit_length
    from continuo.audio.graph import build_jump_graph
    from continuo.audio.planner import plan_path
    from continuo.audio.splice import render_segments
    from continuo.io.audio import read_audio, to_mono, write_audio

    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = now - clock
        clock = now

    audio = read_audio(src)
    lap("read")
    analysis = analyze_beats(to_mono(audio.samples), audio.sample_rate)
    lap("beats + features")
    graph = build_jump_graph(analysis)
    lap("jump graph")
    target = round(duration * audio.sample_rate)
    plan = plan_path(analysis, graph, target)
    lap("path")
    out, _ = render_segments(audio.samples, plan.segments, audio.sample_rate)
    out = fit_length(out, target, audio.sample_rate)
    lap("render")
    with tempfile.TemporaryDirectory() as tmp:
        write_audio(Path(tmp) / "out.wav", out, audio.sample_rate)
    lap("write wav")
    return times


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    default = here.parent / "shared" / "data" / "audio" / "brahms_hungarian_dance_5.ogg"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=default)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()}")
    results = cold_runs(args.input, args.duration, args.runs)
    for k, (wall, cpu) in enumerate(results):
        print(f"cold run {k + 1}: wall {wall:.2f} s, cpu {cpu:.2f} s")
    walls = [w for w, _ in results]
    print(f"median wall {statistics.median(walls):.2f} s, best {min(walls):.2f} s")
    for name, secs in stages(args.input, args.duration).items():
        print(f"  stage {name:<18} {secs:6.3f} s (warm, in process)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
