"""Which extension method for a melodic recording? `structure`, `neural` and `melody` compared.

    nice python benchmarks/audio_methods.py [--markdown]

For ``vocadito_10.wav`` (a real voice) and ``trumpet_loop.ogg`` (a jazz trumpet phrase) in
``../shared/data/audio``, trimmed of silence (50 dB), the last H seconds are held out (vocadito
3 s, trumpet 1 s: the whole loop is 3.6 s) and the rest (the seed) is extended by H + 8 s with each method:

- ``structure``: the recording's own beats along seamless jumps;
- ``neural``: a model trained on the seed alone (default settings: seq2seq, 1,200 steps, 1
  thread), temperature 0.3;
- ``melody``: transcription, the bundled ``folk`` model (temperature 1, top-p 0.95, seed 0), and
  the seed's own notes as the sampler.

Scored:
- the splices, as in ``audio_seamlessness.py`` (percentiles against the recording's own
  distribution: ``jump`` of the sample second difference, ``flux`` peak, ``chroma`` similarity
  across, ``level`` step; 50 is a typical moment of the recording, 100 a restart);
- ``MR-STFT``: the multi-resolution STFT distance of the first H seconds after the seed to the
  real held-out tail (as in ``audio_neural.py``; lower is closer);
- for ``melody``: ``in scale``, the share of new notes in the seed's key's scale, and
  ``played right``, the note F-measure of the continuation transcribed again against the notes the
  model wrote (the sampler plays what was asked).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audio_seamlessness import score
from continuo.audio.extender import Extender
from continuo.errors import ConfigError
from continuo.evaluation.audio_metrics import multi_resolution_stft_distance
from continuo.io.audio import Audio, read_audio, to_mono, write_audio
from transcription import note_scores

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "audio"
FILES = {"vocadito": ("vocadito_10.wav", 3.0), "trumpet": ("trumpet_loop.ogg", 1.0)}


def trimmed(path: Path) -> Audio:
    import librosa

    audio = read_audio(path)
    _, (a, b) = librosa.effects.trim(to_mono(audio.samples), top_db=50)
    return Audio(audio.samples[a:b], audio.sample_rate, audio.subtype)


def melody_checks(extension, seed: Audio) -> dict:
    """In-scale share of the new notes and how well the sampler played them."""
    from continuo.audio.transcription import transcribe

    heard = transcribe(seed)
    notes = extension.details["notes"]
    tonic, mode = heard.key
    scale = {(tonic + 3 * mode + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}
    in_scale = float(np.mean([p % 12 in scale for _, _, p in notes])) if notes else float("nan")
    start = extension.splices[0].output_time
    tail = Audio(extension.samples[round(start * seed.sample_rate) :], seed.sample_rate)
    again = transcribe(tail)
    played = [(a - start, b - start, p) for a, b, p in notes]
    estimated = np.stack([again.onsets, again.offsets, again.pitches], axis=1)
    return {"in_scale": in_scale, "played_right": note_scores(played, estimated)[2]}


def run(name: str, work: Path) -> list[dict]:
    from continuo.audio.neural.config import AudioModelConfig, AudioTrainConfig
    from continuo.audio.neural.train import train_audio
    from continuo.generation import Generator

    file, held = FILES[name]
    audio = trimmed(DATA / file)
    sr = audio.sample_rate
    cut = audio.n_samples - int(held * sr)
    seed = Audio(audio.samples[:cut], sr, audio.subtype)
    real = to_mono(audio.samples[cut:])
    target = seed.duration + held + 8.0
    source = write_audio(work / f"{name}-seed.wav", seed.samples, sr, subtype="PCM_24")
    clock = time.perf_counter()
    try:
        train_audio(
            [source], work / f"run-{name}", AudioModelConfig(), AudioTrainConfig(), progress=False
        )
        neural = Extender.load("neural", work / f"run-{name}", temperature=0.3)
    except ConfigError as error:  # a seed too short to train on
        neural = None
        print(f"{name}: no neural model: {error}", file=sys.stderr)
    train_s = time.perf_counter() - clock
    continuer = Generator.from_pretrained("folk").note_continuer(
        temperature=1.0, top_p=0.95, rng_seed=0
    )
    extenders = {
        "structure": Extender.load("structure"),
        "neural": neural,
        "melody": Extender.load("melody", continuer),
    }
    rows = []
    for method, extender in extenders.items():
        if extender is None:
            rows.append({"file": name, "method": method, "splices": 0, "wall_s": train_s})
            continue
        clock = time.perf_counter()
        ext = extender.extend(seed, target, name=file, progress=False)
        wall = time.perf_counter() - clock
        out = to_mono(ext.samples)
        pos = [round(s.output_time * sr) for s in ext.splices]
        land = [
            round((s.source_to if s.source_to is not None else s.source_from) * sr)
            for s in ext.splices
        ]
        row = {"file": name, "method": method, **score(out, sr, pos, land, to_mono(seed.samples))}
        continuation = out[cut : cut + len(real)]
        if len(continuation) == len(real):
            row["mr_stft"] = multi_resolution_stft_distance(continuation, real)["distance"]
        row["wall_s"] = wall + (train_s if method == "neural" else 0.0)
        if method == "melody":
            row |= melody_checks(ext, seed)
        rows.append(row)
        print(json.dumps(row, default=float), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--only", choices=list(FILES), nargs="*", help="these recordings only")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.only or FILES:
            rows += run(name, Path(work))
    print(json.dumps(rows, indent=1, default=float))
    if args.markdown:
        print("| file | method | splices | jump | flux | chroma | level | MR-STFT | in scale | "
              "played right | wall s |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            cells = [r.get(k, float("nan")) for k in ("jump", "flux", "chroma", "level", "mr_stft")]
            extra = [r.get(k) for k in ("in_scale", "played_right")]
            print(
                f"| {r['file']} | {r['method']} | {r['splices']} | "
                + " | ".join(f"{c:.1f}" if k < 4 else f"{c:.3f}" for k, c in enumerate(cells))
                + " | "
                + " | ".join("" if e is None else f"{e:.2f}" for e in extra)
                + f" | {r['wall_s']:.1f} |"
            )


if __name__ == "__main__":
    main()
