"""Benchmark: transcribing sung and played takes (issue 14 §4).

    nice python benchmarks/transcription.py [--takes 100] [--jobs 2] [--markdown]

Takes: the opening (up to 15 s) of ``--takes`` Essen melodies (``../shared/data/essen_kern/
deutschl``, a fixed random choice), each rendered with the bundled SoundFont (TimGM6mb, through
``continuo.io.render.to_waveform``) on one of choir "aah" (GM 52), flute (73), trumpet (56) and
violin (40) in turn, at a tempo drawn from 60 to 140 quarter notes a minute, played detached
(each note shortened by 12% or 40 ms of its length, as players and singers re-articulate), with
vibrato (a delay line swinging the pitch by 25 to 50 cents at 5 to 6.5 Hz) and white noise at
20 dB SNR.

Each take is transcribed with ``continuo.audio.transcribe`` (no tempo given) and scored with
``mir_eval.transcription.precision_recall_f1_overlap`` against the rendered notes: onset within
50 ms, pitch within 50 cents, offsets ignored. Reported per instrument and overall:

- note precision, recall and F-measure (the mean over takes);
- key right: the transcription's key (``Transcription.key``, the shared estimator on the notes
  on their grid) against the same estimator on the true notes (what transcription can get
  right), and its scale against the song's key signature;
- meter right: the transcription's 4/4 or 3/4 against the song's meter, duple (2/4, 4/4, 2/2,
  6/8, 12/8) or triple (3/4, 3/8, 9/8, 3/2);
- the time to transcribe a take, and the time from a 10 s take to a written continuation:
  ``continuo generate --model folk --seed-audio take.wav --bars 8 --out DIR`` as a user runs it
  (process start, imports and model load included; it writes MIDI, MusicXML, WAV and PNG), and
  in one warm process, as the web app runs it: read, transcribe, continue, write the MIDI file.
  ``--timing-only`` measures just this, on a take rendered as above; ``--trackers`` times the
  pitch trackers compared in decision 0016.

Also ``vocadito_10.wav`` (``../shared/data/audio``, a real voice; CC BY 4.0) against
``benchmarks/data/vocadito_10_notes.csv``, a reference made by reading the take's spectrogram
(see that file's header).
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
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ESSEN = REPO.parent / "shared" / "data" / "essen_kern" / "deutschl"
VOCADITO = REPO.parent / "shared" / "data" / "audio" / "vocadito_10.wav"
VOCADITO_NOTES = REPO / "benchmarks" / "data" / "vocadito_10_notes.csv"
INSTRUMENTS = {52: "choir aah", 73: "flute", 56: "trumpet", 40: "violin"}
SAMPLE_RATE = 22050
TAKE_SECONDS = 15.0


def render_take(score, program: int, qpm: float, rng: np.random.Generator):
    """``(audio (n,) float32, true notes [(onset s, offset s, pitch)])`` of ``score``'s opening
    played on ``program`` at ``qpm`` (see the module docstring)."""
    import symusic

    from continuo.io.render import to_waveform

    score = score.copy()
    score.tempos.clear()
    score.tempos.append(symusic.Tempo(0, qpm))
    tpq = score.ticks_per_quarter
    track = next(t for t in score.tracks if len(t.notes))
    score.tracks = [track]
    track.program = program
    for note in track.notes:
        gap = max(int(0.12 * note.duration), int(0.04 * qpm / 60 * tpq))
        note.duration = max(note.duration - gap, tpq // 16)
    seconds = score.to("second")
    notes = [(n.time, n.time + n.duration, n.pitch) for n in seconds.tracks[0].notes]
    notes = [n for n in notes if n[0] < TAKE_SECONDS]
    audio = to_waveform(score, stereo=False, sample_rate=SAMPLE_RATE)[0]
    audio = audio[: int((notes[-1][1] + 0.3) * SAMPLE_RATE)]
    t = np.arange(len(audio)) / SAMPLE_RATE
    depth, rate = rng.uniform(25, 50), rng.uniform(5.0, 6.5)
    swing = (2 ** (depth / 1200) - 1) / (2 * np.pi * rate) * np.sin(2 * np.pi * rate * t)
    audio = np.interp(t - swing, t, audio)
    noise = rng.normal(0.0, np.sqrt(np.mean(audio**2) / 100.0), len(audio))
    return (audio + noise).astype(np.float32), notes


def note_scores(reference, estimated) -> tuple[float, float, float]:
    """mir_eval's note precision, recall and F-measure: onsets within 50 ms, pitch 50 cents."""
    import mir_eval

    def arrays(notes):
        notes = np.asarray(notes, dtype=float).reshape(-1, 3)
        return notes[:, :2], 440.0 * 2 ** ((notes[:, 2] - 69) / 12)

    ref_i, ref_p = arrays(reference)
    est_i, est_p = arrays(estimated)
    if not len(est_p):
        return 0.0, 0.0, 0.0
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_i, ref_p, est_i, est_p, onset_tolerance=0.05, pitch_tolerance=50.0, offset_ratio=None
    )
    return float(p), float(r), float(f)


def meter_class(numerator: int) -> int:
    """3 for triple meters (3/4, 3/8, 9/8), 4 for duple ones (2/4, 4/4, 6/8, 12/8)."""
    return 3 if numerator in (3, 9) else 4


def score_take(job: tuple[int, str, int, float, int]) -> dict:
    index, path, program, qpm, seed = job
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from continuo.audio.transcription import transcribe
    from continuo.codecs.keys import estimate_key
    from continuo.errors import ReadError
    from continuo.io import read_score
    from continuo.io.audio import Audio

    rng = np.random.default_rng(seed)
    score = read_score(path)
    audio, notes = render_take(score, program, qpm, rng)
    truth = np.asarray(notes, dtype=float)
    true_key = estimate_key(truth[:, 2].astype(int), truth[:, 1] - truth[:, 0])
    signatures = sorted(score.key_signatures, key=lambda k: k.time)
    meters = sorted(score.time_signatures, key=lambda m: m.time)
    row = {"take": index, "song": Path(path).name, "instrument": INSTRUMENTS[program], "qpm": qpm}
    started = time.perf_counter()
    try:
        result = transcribe(Audio(audio[:, None], SAMPLE_RATE), name=Path(path).name)
    except ReadError as error:
        return row | {"refused": str(error), "f": 0.0, "p": 0.0, "r": 0.0}
    row["seconds"] = time.perf_counter() - started
    row["audio_seconds"] = len(audio) / SAMPLE_RATE
    estimated = np.stack([result.onsets, result.offsets, result.pitches], axis=1)
    row["p"], row["r"], row["f"] = note_scores(truth, estimated)
    row["key_vs_notes"] = tuple(result.key) == tuple(true_key)
    if signatures:
        scale = (7 * int(signatures[0].key)) % 12
        tonic, mode = result.key
        row["key_vs_signature"] = (tonic + 3 * mode) % 12 == scale
    if meters:
        row["meter"] = meter_class(meters[0].numerator) == result.time_signature[0]
    return row


def time_to_continuation(take: Path, out: Path) -> dict[str, float]:
    """Seconds from a take to a written continuation: the CLI, and one warm process."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "continuo", "generate", "--model", "folk", "--seed-audio",
         str(take), "--bars", "8", "--out", str(out / "cli")],
        check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "2"},
    )  # fmt: skip
    cli = time.perf_counter() - started
    from continuo.audio.transcription import transcribe
    from continuo.generation import Generator
    from continuo.io.audio import read_audio

    generator = Generator.from_pretrained("folk")
    transcribe(read_audio(take))  # compile numba's kernels once, as a running app has
    from continuo.io.midi import write_midi

    started = time.perf_counter()
    seed = transcribe(read_audio(take)).score
    [piece] = generator.generate_continuation(seed, bars=8, rng_seed=0)
    write_midi(piece.score, out / "warm.mid")
    return {"cli_seconds": cli, "warm_seconds": time.perf_counter() - started}


def timing() -> dict[str, float]:
    """:func:`time_to_continuation` of a 10 s flute take of the first Essen song."""
    from continuo.io import read_score
    from continuo.io.audio import write_audio

    song = sorted(ESSEN.rglob("*.krn"))[0]
    audio, _ = render_take(read_score(song), 73, 100.0, np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as work:
        take = write_audio(Path(work) / "take.wav", audio[: 10 * SAMPLE_RATE, None], SAMPLE_RATE)
        return time_to_continuation(take, Path(work))


def trackers() -> dict[str, float]:
    """Seconds each pitch tracker takes on a 10 s flute take at 16 kHz, 10 ms hop, one thread:
    pYIN at three state resolutions, and torchcrepe's ``tiny`` where it is installed (it is not
    a continuo dependency: its wheel pulls torchaudio)."""
    import librosa
    import torch

    from continuo.io import read_score
    from continuo.io.audio import resample

    torch.set_num_threads(1)
    song = sorted(ESSEN.rglob("*.krn"))[0]
    audio, _ = render_take(read_score(song), 73, 100.0, np.random.default_rng(0))
    y = resample(audio[: 10 * SAMPLE_RATE], SAMPLE_RATE, 16000)
    librosa.pyin(y[:16000], fmin=65.4, fmax=1760.0, sr=16000, frame_length=1024, hop_length=160)
    seconds = {}
    for resolution in (0.1, 0.25, 0.5):
        started = time.perf_counter()
        librosa.pyin(y, fmin=65.4, fmax=1760.0, sr=16000, frame_length=1024, hop_length=160,
                     resolution=resolution)  # fmt: skip
        seconds[f"pyin resolution {resolution}"] = time.perf_counter() - started
    try:
        import torchcrepe
    except ImportError:
        seconds["torchcrepe tiny"] = float("nan")
    else:
        started = time.perf_counter()
        torchcrepe.predict(torch.tensor(y)[None], 16000, 160, 50, 2000, "tiny", device="cpu")
        seconds["torchcrepe tiny"] = time.perf_counter() - started
    return seconds


def vocadito() -> dict | None:
    if not (VOCADITO.is_file() and VOCADITO_NOTES.is_file()):
        return None
    from continuo.audio.transcription import transcribe
    from continuo.io.audio import read_audio

    reference = np.loadtxt(VOCADITO_NOTES, delimiter=",", comments="#").reshape(-1, 3)
    result = transcribe(read_audio(VOCADITO), name=VOCADITO.name)
    estimated = np.stack([result.onsets, result.offsets, result.pitches], axis=1)
    p, r, f = note_scores(reference, estimated)
    return {"p": p, "r": r, "f": f, "notes": len(reference), "found": len(estimated)}


def summary(rows: list[dict]) -> dict:
    def mean(key, subset):
        values = [float(r[key]) for r in subset if key in r]
        return float(np.mean(values)) if values else float("nan")

    groups = {name: [r for r in rows if r["instrument"] == name] for name in INSTRUMENTS.values()}
    groups["all"] = rows
    return {
        name: {
            "takes": len(subset),
            "refused": sum("refused" in r for r in subset),
            **{k: mean(k, subset) for k in ("p", "r", "f")},
            "key_vs_notes": mean("key_vs_notes", subset),
            "key_vs_signature": mean("key_vs_signature", subset),
            "meter": mean("meter", subset),
            "seconds_per_audio_second": mean("seconds", subset) / mean("audio_seconds", subset),
        }
        for name, subset in groups.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", type=Path, help="write every take's row here")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--trackers", action="store_true", help="time the pitch trackers only")
    args = parser.parse_args()
    if args.trackers:
        print(json.dumps(trackers(), indent=1))
        return
    if args.timing_only:
        print(json.dumps(timing(), indent=1))
        return
    files = sorted(ESSEN.rglob("*.krn"))
    if not files:
        sys.exit(f"no Essen songs under {ESSEN}")
    rng = np.random.default_rng(args.seed)
    chosen = rng.permutation(len(files))[: args.takes]
    programs = list(INSTRUMENTS)
    jobs = [
        (k, str(files[i]), programs[k % 4], round(float(rng.uniform(60, 140)), 1), args.seed + k)
        for k, i in enumerate(chosen)
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = []
        for row in pool.map(score_take, jobs):
            rows.append(row)
            print(json.dumps(row, default=float), file=sys.stderr, flush=True)
    report = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "summary": summary(rows),
        "timing_10s_take": timing(),
        "vocadito_10": vocadito(),
    }
    if args.json:
        args.json.write_text(json.dumps({"report": report, "takes": rows}, indent=1, default=float))
    print(json.dumps(report, indent=1))
    if args.markdown:
        print(markdown(report))


def markdown(report: dict) -> str:
    lines = [
        "| instrument | takes | refused | precision | recall | **F** | key = notes' key | "
        "scale = signature's | meter | transcription time / take length |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report["summary"].items():
        lines.append(
            f"| {name} | {s['takes']} | {s['refused']} | {s['p']:.3f} | {s['r']:.3f} | "
            f"**{s['f']:.3f}** | {100 * s['key_vs_notes']:.0f}% | "
            f"{100 * s['key_vs_signature']:.0f}% | {100 * s['meter']:.0f}% | "
            f"{s['seconds_per_audio_second']:.3f} |"
        )
    t = report["timing_10s_take"]
    lines.append(
        f"\n10 s take to a written continuation (8 bars): {t['cli_seconds']:.1f} s with "
        f"`continuo generate --seed-audio` (process start included), {t['warm_seconds']:.1f} s "
        "in a warm process."
    )
    v = report["vocadito_10"]
    if v:
        lines.append(
            f"\nvocadito_10: F {v['f']:.3f} (precision {v['p']:.3f}, recall {v['r']:.3f}; "
            f"{v['found']} notes found, {v['notes']} in the reference)."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
