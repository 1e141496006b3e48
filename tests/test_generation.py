"""The Generator and `continuo generate`: seeds of every kind, lengths, sampling, outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from continuo.cli import main
from continuo.codecs.melody import melody_from_text
from continuo.errors import ContinuoError
from continuo.generation.generator import Generator
from continuo.score import make_score, note_table

SEED = "67 _ 67 _ 65 64 _ r"


@pytest.fixture(scope="module")
def generator(melody_run: Path) -> Generator:
    return Generator.from_pretrained(melody_run, device="cpu")


def _steps(generator: Generator, score) -> float:
    return score.end() / score.ticks_per_quarter * generator.steps_per_quarter


def test_seed_syntaxes_give_the_same_output(generator: Generator) -> None:
    outputs = [
        generator.generate_continuation(seed, steps=32, rng_seed=3)[0]
        for seed in (SEED, "[67, -2, 67, -2, 65, 64, -2, -1]", "G4 _ G4 _ F4 E4 _ r")
    ]
    tables = [note_table(o.score) for o in outputs]
    assert all(np.array_equal(tables[0], t) for t in tables[1:])


def test_the_seed_is_kept_verbatim_and_the_length_is_exact(generator: Generator) -> None:
    [out] = generator.generate_continuation(SEED, steps=48, rng_seed=1)
    seed = melody_from_text(SEED)
    seed_notes = note_table(seed)
    kept = note_table(out.score)[: len(seed_notes)]
    assert np.array_equal(kept[:, [0, 2]], seed_notes[:, [0, 2]])  # onsets and pitches
    assert out.seed_end == 8 * seed.ticks_per_quarter // 4
    assert len(out.tokens) == 48
    assert _steps(generator, out.score) <= 8 + 48


def test_reproducible_with_an_rng_seed_and_varied_without(generator: Generator) -> None:
    a = generator.generate_continuation(SEED, steps=64, rng_seed=5, num_outputs=3)
    b = generator.generate_continuation(SEED, steps=64, rng_seed=5, num_outputs=3)
    assert [x.tokens for x in a] == [y.tokens for y in b]
    assert len({tuple(x.tokens) for x in a}) > 1


def test_lengths_in_bars_and_seconds(generator: Generator) -> None:
    # 4/4: 32 steps, and the 8 that finish the half-bar seed's bar (bars end on a bar line)
    [bars] = generator.generate_continuation(SEED, bars=2, rng_seed=0)
    [seconds] = generator.generate_continuation(SEED, seconds=4.0, rng_seed=0)  # 120 qpm: 32
    assert len(bars.tokens) == 40 and len(seconds.tokens) == 32


def test_from_scratch_and_stop_at_end(generator: Generator) -> None:
    [scratch] = generator.generate(steps=40, rng_seed=2)
    assert scratch.seed_end == 0 and len(scratch.tokens) == 40
    # trained on 64-step songs, the model writes the song end long before 2,000 steps
    outs = generator.generate(steps=2000, rng_seed=2, stop_at_end=True, num_outputs=2)
    assert all(len(o.tokens) < 2000 for o in outs)
    [endless] = generator.generate(steps=300, rng_seed=2, num_outputs=1)
    assert len(endless.tokens) == 300  # without stop_at_end the separator is never chosen


def test_output_returns_to_the_seeds_key(generator: Generator) -> None:
    """The model sees every seed in C major; the same tune in D comes back 2 semitones up."""
    seed_in_c = "60 _ 62 _ 64 _ 65 _ 67 _ _ _ 64 _ 60 _"
    seed_in_d = "62 _ 64 _ 66 _ 67 _ 69 _ _ _ 66 _ 62 _"
    assert generator.codec.transposition(melody_from_text(seed_in_d)) == -2
    [in_c] = generator.generate_continuation(seed_in_c, steps=64, temperature=0)
    [in_d] = generator.generate_continuation(seed_in_d, steps=64, temperature=0)
    c, d = note_table(in_c.score), note_table(in_d.score)
    assert np.array_equal(c[:, :2], d[:, :2])
    assert np.array_equal(c[:, 2] + 2, d[:, 2])


@pytest.mark.parametrize("suffix", [".mid", ".musicxml", ".krn", ".abc"])
def test_seed_files(generator: Generator, tmp_path: Path, suffix: str) -> None:
    from continuo import io

    path = tmp_path / f"seed{suffix}"
    if suffix == ".krn":
        path.write_text("**kern\n*M4/4\n*k[]\n=1\n4c\n4d\n4e\n4f\n=2\n2g\n2g\n*-\n")
    elif suffix == ".abc":
        path.write_text("X:1\nT:seed\nM:4/4\nL:1/4\nK:C\nC D E F | G2 G2 |]\n")
    else:
        score = make_score([(i * 480, 480, p, 80) for i, p in enumerate([60, 62, 64, 65])],
                           time_signature=(4, 4))  # fmt: skip
        (io.write_midi if suffix == ".mid" else io.write_musicxml)(score, path)
    [out] = generator.generate_continuation(path, steps=16, rng_seed=0)
    assert out.seed_end > 0 and len(out.tokens) == 16


def test_last_bars_of_a_seed_file(generator: Generator, tmp_path: Path) -> None:
    from continuo import io

    notes = [(i * 480, 480, 60 + i % 8, 80) for i in range(16)]  # 4 bars of 4/4
    io.write_midi(make_score(notes, time_signature=(4, 4)), tmp_path / "long.mid")
    [out] = generator.generate_continuation(tmp_path / "long.mid", steps=16, last_bars=1)
    assert out.seed_end == 4 * 480


@pytest.mark.parametrize(
    ("seed", "message"),
    [("67 _ banana", "banana"), ("67 200", "200"), ("", "seed"), ("_ _ r", "no note")],
)
def test_bad_text_seeds(generator: Generator, seed: str, message: str) -> None:
    with pytest.raises(ContinuoError, match=message):
        generator.generate_continuation(seed, steps=8)


def test_cli_generate_writes_every_format(melody_run: Path, tmp_path: Path, capsys) -> None:
    code = main(["generate", "--model", str(melody_run), "--seed", SEED, "--steps", "32",
                 "--num-outputs", "2", "--rng-seed", "1", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 8
    for suffix in (".mid", ".musicxml", ".wav", ".png"):
        assert (tmp_path / "out" / f"output-1{suffix}").stat().st_size > 100
    from continuo import io

    back = io.read_score(tmp_path / "out" / "output-1.musicxml")
    assert back.note_num() == io.read_score(tmp_path / "out" / "output-1.mid").note_num()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "67 _ banana"], "banana"),
        (["--seed-file", "/nonexistent.mid"], "nonexistent.mid"),
        (["--temperature", "-1"], "temperature"),
        (["--model", "/nonexistent-run"], "nonexistent-run"),
    ],
)
def test_cli_generate_errors_are_one_line(
    melody_run: Path, tmp_path: Path, capsys, args, message
) -> None:
    argv = ["generate", "--model", str(melody_run), "--out", str(tmp_path), *args]
    if "--model" in args:
        argv = ["generate", "--out", str(tmp_path), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_empty_seed_file(generator: Generator, tmp_path: Path) -> None:
    (tmp_path / "empty.mid").write_bytes(b"")
    with pytest.raises(ContinuoError, match=r"empty\.mid"):
        generator.generate_continuation(tmp_path / "empty.mid", steps=8)


def test_render_gives_every_format_in_memory_and_save_writes_the_same(
    generator: Generator, tmp_path: Path
) -> None:
    from continuo.errors import ConfigError
    from continuo.io import read_midi, read_musicxml

    [out] = generator.generate_continuation(SEED, steps=16, rng_seed=2)
    files = out.render("tune")
    assert list(files) == ["midi", "musicxml", "wav", "png"]
    assert files["midi"].startswith(b"MThd") and files["wav"].startswith(b"RIFF")
    assert files["png"].startswith(b"\x89PNG") and b"<score-partwise" in files["musicxml"]
    assert list(out.render("tune", formats=("wav", "midi"))) == ["wav", "midi"]
    with pytest.raises(ConfigError, match="no output format mp3"):
        out.render("tune", formats=("mp3",))
    paths = out.save(tmp_path, "tune")
    assert set(paths) == set(files) and all(path.stat().st_size for path in paths.values())
    for name in ("midi", "wav"):  # music21 gives parts fresh ids, so MusicXML is not bit-equal
        assert paths[name].read_bytes() == files[name], name
    assert np.array_equal(note_table(read_midi(paths["midi"])), note_table(out.score))
    assert read_musicxml(paths["musicxml"]).note_num() == out.score.note_num()
