"""`extend --method neural`: distance to the real continuation, and real-time factor, on 2 cores.

For each recording, leading and trailing silence (50 dB below the peak) is trimmed, the last
``H`` seconds are held out, a model is trained from scratch on the rest (``train_audio`` with
``exclude_tail=H``, default settings unless ``--steps``), and the seed (the recording minus its
tail) is continued. The first ``H`` seconds of the continuation are compared with the real tail by
the multi-resolution STFT distance (continuo.evaluation.audio_metrics; lower is better), against
"repeat the last seconds" baselines: the seed's last 2 s, or its last H s, looped; and against
the ceiling of the representation: the real tail itself through log-mel and the vocoder. The real-time
factor is generation time (model + vocoder + resampling) over generated seconds, measured on a
60 s continuation (< 1 is faster than real time).

    .venv/bin/python benchmarks/audio_neural.py [--archs frame_rnn seq2seq] [--temperatures 0 0.3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from continuo.audio.baselines import repeat_last
from continuo.audio.extender import Extender
from continuo.audio.neural.config import AudioModelConfig, AudioTrainConfig
from continuo.audio.neural.features import features_for_rate, log_mel
from continuo.audio.neural.train import train_audio
from continuo.audio.neural.vocoder import griffin_lim, mel_to_magnitude
from continuo.evaluation.audio_metrics import multi_resolution_stft_distance
from continuo.io.audio import Audio, read_audio, resample, to_mono, write_audio

HELD_OUT = {"brahms_hungarian_dance_5.ogg": 8.0, "vocadito_10.wav": 3.0}


def trimmed(path: Path) -> Audio:
    """The recording without its leading and trailing silence (librosa.effects.trim, 50 dB)."""
    import librosa

    audio = read_audio(path)
    _, (a, b) = librosa.effects.trim(to_mono(audio.samples), top_db=50)
    return Audio(audio.samples[a:b], audio.sample_rate)


def evaluate(name: str, audio: Audio, held: float, arch: str, temps, steps, tmp: Path) -> list:
    sr = audio.sample_rate
    cut = audio.n_samples - int(held * sr)
    seed = Audio(audio.samples[:cut], sr)
    real = to_mono(audio.samples[cut:])
    src = write_audio(tmp / f"{name}.wav", audio.samples, sr, subtype="PCM_24")
    run = tmp / f"run-{name}-{arch}"
    train = AudioTrainConfig(exclude_tail=held, **({"steps": steps} if steps else {}))
    clock = time.perf_counter()
    result = train_audio([src], run, AudioModelConfig(arch=arch), train, progress=False)
    train_s = time.perf_counter() - clock
    model = Extender.load("neural", run).model
    rows = []
    for temp in temps:
        extender = Extender.load("neural", model, temperature=temp)
        ext = extender.extend(seed, seed.duration + held + 4.0, progress=False)
        cont = to_mono(ext.samples[cut : cut + real.shape[0]])
        long = extender.extend(seed, seed.duration + 60.0, progress=False)
        dist = multi_resolution_stft_distance(cont, real)
        rows.append(
            {
                "file": name,
                "method": f"neural {arch} T={temp:g}",
                **dist,
                "rtf": long.details["realtime_factor"],
                "train_s": train_s,
                "steps": result.step,
                "loss": result.history[-1],
            }
        )
    return rows


def baselines(name: str, audio: Audio, held: float) -> list:
    sr = audio.sample_rate
    cut = audio.n_samples - int(held * sr)
    real = to_mono(audio.samples[cut:])
    seed = audio.samples[:cut]
    rows = []
    for secs in (2.0, held):
        rep = to_mono(repeat_last(seed, real.shape[0], secs, sr))
        rows.append(
            {
                "file": name,
                "method": f"repeat last {secs:g} s",
                **multi_resolution_stft_distance(rep, real),
            }
        )
    # The ceiling: the real tail itself through the model's features and vocoder.
    feats = features_for_rate(sr)
    y = resample(real, sr, feats.sample_rate)
    wave, _ = griffin_lim(mel_to_magnitude(log_mel(y, feats), feats), feats, None, 32)
    wave = resample(wave, feats.sample_rate, sr)
    ceiling = multi_resolution_stft_distance(wave, real)
    rows.append({"file": name, "method": "ceiling: the real tail through the vocoder", **ceiling})
    return rows


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data" / "audio")
    parser.add_argument("--archs", nargs="*", default=["frame_rnn", "seq2seq"])
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.0, 0.3])
    parser.add_argument("--steps", type=int, default=0, help="training steps (0: the default)")
    parser.add_argument("--only", help="run only the files whose name contains this")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, held in HELD_OUT.items():
            if args.only and args.only not in name:
                continue
            path = args.data / name
            if not path.exists():
                print(f"skipping {path}: not here")
                continue
            audio = trimmed(path)
            rows += baselines(name, audio, held)
            for arch in args.archs:
                rows += evaluate(name, audio, held, arch, args.temperatures, args.steps, Path(tmp))
                print(f"done {name} {arch}", flush=True)
    print(f"load average after: {os.getloadavg()}")
    print("\n| file | method | MR-STFT distance | spectral conv. | log-mag | RTF | train s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rtf = f"{r['rtf']:.3f}" if "rtf" in r else ""
        train = f"{r['train_s']:.0f} ({r['steps']} steps)" if "train_s" in r else ""
        print(
            f"| {r['file']} | {r['method']} | {r['distance']:.3f} | "
            f"{r['spectral_convergence']:.3f} | {r['log_magnitude']:.3f} | {rtf} | {train} |"
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
