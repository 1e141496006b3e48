"""The bundled `piano` model: it ships, continues a MIDI seed in the seed's key and register, and
fine-tunes on a small folder of the user's own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import symusic

from continuo.cli import main
from continuo.generation import Generator
from continuo.pretrained import PRETRAINED, pretrained_path
from continuo.score import DEFAULT_TPQ, note_table

MAJOR = (0, 2, 4, 5, 7, 9, 11)
BAR = 4 * DEFAULT_TPQ


def chord_seed(tonic: int, bars: int = 4) -> symusic.Score:
    """A pianist's four bars in the major key of ``tonic`` (a MIDI pitch, C4 = 60): I-vi-IV-V
    as held left-hand triads under a right-hand tune of quarter notes. No key signature: the
    key must be found from the notes."""
    score = symusic.Score(DEFAULT_TPQ)
    score.tempos.append(symusic.Tempo(0, 96.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("piano", 0, False)
    roots = [0, 9, 5, 7]
    tune = [4, 7, 12, 11, 9, 12, 16, 12, 9, 5, 4, 2, 7, 11, 14, 7]
    for bar in range(bars):
        root = tonic - 12 + roots[bar % 4]
        third = 3 if roots[bar % 4] == 9 else 4
        for interval in (0, third, 7):
            track.notes.append(symusic.Note(bar * BAR, BAR, root + interval, 60))
        for beat in range(4):
            pitch = tonic + tune[(bar * 4 + beat) % len(tune)]
            track.notes.append(symusic.Note(bar * BAR + beat * DEFAULT_TPQ, DEFAULT_TPQ, pitch, 80))
    track.notes.sort()
    score.tracks.append(track)
    return score


def top_line(notes: np.ndarray) -> np.ndarray:
    """The highest pitch at each onset of a note table (the tune a listener follows)."""
    onsets, first = np.unique(notes[:, 0], return_index=True)
    return np.maximum.reduceat(notes[:, 2], first) if len(onsets) else notes[:0, 2]


@pytest.fixture(scope="module")
def piano() -> Generator:
    return Generator.from_pretrained("piano", device="cpu")


def test_the_model_ships_inside_the_package() -> None:
    assert "piano" in PRETRAINED
    folder = pretrained_path("piano")
    assert (folder / "model.safetensors").stat().st_size <= 25 * 1024 * 1024
    config = json.loads((folder / "config.json").read_text())
    assert config["codec"]["name"] == "events" and config["codec"]["config"]["transpose"]
    assert config["evaluation"]["test"]["sequence_bits_per_note"] > 0
    assert "POP909" in (folder / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("tonic", [63, 67])  # E-flat major, G major
def test_continues_a_seed_verbatim_in_its_key_and_register(piano: Generator, tonic: int) -> None:
    seed = chord_seed(tonic)
    outputs = piano.generate_continuation(seed, bars=4, num_outputs=2, rng_seed=0)
    seed_notes = note_table(seed)
    scale = {(tonic + step) % 12 for step in MAJOR}
    for output in outputs:
        assert output.seed_end == 4 * BAR
        notes = note_table(output.score)
        kept = notes[notes[:, 0] < output.seed_end]
        # the seed verbatim (a held seed note may be lengthened by the model, nothing else)
        assert np.array_equal(kept[:, [0, 2, 3]], seed_notes[:, [0, 2, 3]])
        new = notes[notes[:, 0] >= output.seed_end]
        assert len(new) >= 8
        in_key = np.mean([p % 12 in scale for p in new[:, 2]])
        assert in_key >= 0.85, f"only {in_key:.0%} of the new notes are in the seed's key"
        # the register: the tune on top stays where the seed's was (a bass line may be added)
        assert abs(np.median(top_line(new)) - np.median(top_line(seed_notes))) <= 7
        assert len(np.unique(new[:, 0])) < len(new), "no chords: the seed's texture is gone"


def test_writes_from_nothing_on_the_command_line(tmp_path: Path, capsys) -> None:
    code = main(["generate", "--model", "piano", "--bars", "2", "--rng-seed", "1", "--out",
                 str(tmp_path)])  # fmt: skip
    assert code == 0
    assert (tmp_path / "output-1.mid").is_file()


def test_fine_tunes_on_a_small_folder(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for i, tonic in enumerate([60, 62, 65, 67, 69, 70, 72, 64]):
        chord_seed(tonic, bars=4).dump_midi(folder / f"piece{i}.mid")
    data, run, out = tmp_path / "data", tmp_path / "run", tmp_path / "out"
    assert main(["prepare", str(folder), "--like", "piano", "--out", str(data), "--jobs", "1"]) == 0
    manifest = json.loads((data / "manifest.json").read_text())
    bundled = json.loads((pretrained_path("piano") / "config.json").read_text())
    assert manifest["codec"] == bundled["codec"]
    assert main(["train", str(data), "--init-from", "piano", "--max-steps", "2", "--batch-size",
                 "2", "--block-size", "64", "--out", str(run)]) == 0  # fmt: skip
    assert main(["generate", "--model", str(run), "--bars", "1", "--rng-seed", "0", "--out",
                 str(out)]) == 0  # fmt: skip
    assert list(out.glob("*.mid"))
