"""The bundled `folk` model: generation works right after install, and sounds like a melody."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from continuo import io
from continuo.cli import main
from continuo.generation import Generator
from continuo.pretrained import pretrained_path
from continuo.score import note_table

SEEDS = [
    "67 _ 67 _ 65 64 _ r",
    "[60, -2, 62, -2, 64, -2, 65, -2, 67, -2, -2, -2]",
    "A4 _ _ _ C5 _ B4 A4 E4 _ _ _",  # A minor
    "62 _ 66 _ 69 _ 66 _ 64 _ 62 _",  # D major
]


@pytest.fixture(scope="module")
def folk() -> Generator:
    return Generator.from_pretrained("folk", device="cpu")


def test_the_model_ships_inside_the_package() -> None:
    folder = pretrained_path("folk")
    size = (folder / "model.safetensors").stat().st_size
    assert size <= 10 * 1024 * 1024
    config = json.loads((folder / "config.json").read_text())
    assert config["codec"]["name"] == "melody"
    assert config["evaluation"]["test"]["bits_per_note"] > 0
    assert (folder / "MODEL_CARD.md").is_file()


@pytest.mark.parametrize("seed", SEEDS)
def test_continues_a_seed_into_a_valid_melody(folk: Generator, seed: str, tmp_path: Path) -> None:
    outputs = folk.generate_continuation(seed, bars=8, num_outputs=3, temperature=0.9,
                                         top_p=0.95, rng_seed=0)  # fmt: skip
    for i, output in enumerate(outputs):
        path = tmp_path / f"out{i}.mid"
        io.write_midi(output.score, path)
        notes = note_table(io.read_score(path))  # parses back
        new = notes[notes[:, 0] >= output.seed_end]
        pitches = new[:, 2]
        assert len(new) >= 8
        assert pitches.min() >= 48 and pitches.max() <= 88, "outside a singable range"
        assert pitches.max() - pitches.min() <= 24
        assert len(set(pitches.tolist())) >= 4, "uses only a few pitches"
        assert Counter(pitches.tolist()).most_common(1)[0][1] / len(pitches) < 0.5
        onsets = notes[:, 0]
        assert np.all(np.diff(onsets) > 0), "a melody: one note at a time"


def test_demo_writes_midi_wav_and_png(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    for suffix in (".mid", ".musicxml", ".wav", ".png"):
        assert (tmp_path / f"demo-1{suffix}").stat().st_size > 100
    assert "demo-1.mid" in capsys.readouterr().out
