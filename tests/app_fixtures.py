"""Models and recordings the web-app tests make: used by tests/test_app.py (Streamlit's AppTest)
and tests/test_browser.py (a real browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

SR = 22_050


def write_piano_midis(folder: Path, count: int = 8, bars: int = 8, seed: int = 0) -> Path:
    """Polyphonic pieces: a three-note chord per beat under two eighth notes, as MIDI files."""
    from continuo.score import make_score

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        notes = []
        for beat in range(bars * 4):
            root = int(rng.choice([48, 53, 55, 57]))
            notes += [(beat * 480, 480, pitch, 70) for pitch in (root, root + 4, root + 7)]
            for half in range(2):
                pitch = root + 12 + int(rng.choice([0, 2, 4, 7]))
                notes.append((beat * 480 + half * 240, 240, pitch, 90))
        score = make_score(notes, time_signature=(4, 4), key=(0, 0), qpm=120.0)
        score.dump_midi(folder / f"piece{n:02d}.mid")
    return folder


def train_piano_run(root: Path, epochs: int = 2) -> Path:
    """A tiny transformer on the ``events`` codec, trained on :func:`write_piano_midis`."""
    from continuo.codecs import get_codec
    from continuo.data.build import prepare_corpus
    from continuo.data.dataset import TokenCorpus
    from continuo.models import model_config
    from continuo.training.config import TrainConfig
    from continuo.training.trainer import Trainer

    midis = write_piano_midis(root / "midis")
    prepare_corpus(
        [str(midis)],
        get_codec("events"),
        root / "dataset",
        jobs=1,
        cache_dir=None,
        valid_fraction=0.2,
        test_fraction=0.2,
        progress=False,
    )
    corpus = TokenCorpus.open(root / "dataset")
    config = model_config("transformer", "debug", vocab_size=corpus.codec.vocab_size)
    train = TrainConfig(epochs=epochs, batch_size=8, warmup_steps=5, lr=1e-2)
    Trainer(corpus, config, train, root / "run", progress=False).fit()
    return root / "run"


def synthetic_recording(path: Path, bars: int = 2) -> Path:
    """A short drum-and-chord groove (``bars`` bars of 4/4 at 120 bpm plus a tail) as WAV."""
    from tests.test_audio_signals import groove, write

    return write(path, groove(SR, bars=bars), SR)


def models_folder(root: Path, **runs: Path) -> Path:
    """A ``--models`` folder holding a copy of each run under its keyword's name."""
    root.mkdir(parents=True, exist_ok=True)
    for name, run in runs.items():
        shutil.copytree(run, root / name.replace("_", "-"))
    return root
