"""Where outputs go and what users are told: the --out rule of generate and extend, devices that
are not there, seeds a model cannot take, lengths in bars that end on a bar line, tokens in the
output's key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continuo.cli import main
from continuo.cli.generate import output_stems
from continuo.cli.options import resolve_out
from continuo.device import pick_device
from continuo.errors import ConfigError, SeedError
from continuo.generation.generator import Generator
from continuo.generation.seeds import seed_from_text, steps_to_bar_line
from continuo.score import make_score

SEED = "67 _ 67 _ 65 64 _ r"  # half a bar of 4/4


@pytest.fixture(scope="module")
def generator(melody_run: Path) -> Generator:
    return Generator.from_pretrained(melody_run, device="cpu")


# -- the --out rule ----------------------------------------------------------------------------
def test_out_is_a_file_by_its_suffix_and_a_folder_otherwise(tmp_path: Path) -> None:
    suffixes = (".mid", ".wav")
    assert resolve_out(tmp_path / "song.mid", suffixes) == (tmp_path / "song.mid", True)
    assert resolve_out(tmp_path / "new" / "deeper", suffixes) == (
        tmp_path / "new" / "deeper",
        False,
    )
    (tmp_path / "takes.v2").mkdir()
    assert resolve_out(tmp_path / "takes.v2", suffixes) == (tmp_path / "takes.v2", False)
    (tmp_path / "notes").write_text("a file")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        resolve_out(tmp_path / "notes", suffixes)
    with pytest.raises(ConfigError, match="notes is a file"):
        resolve_out(tmp_path / "notes" / "song.mid", suffixes)
    with pytest.raises(ConfigError, match=r"cannot write '\.txt'"):
        resolve_out(tmp_path / "song.txt", suffixes)


def test_generate_output_names(tmp_path: Path) -> None:
    assert output_stems(tmp_path / "out", 2) == (tmp_path / "out", ["output-1", "output-2"], ".mid")
    assert output_stems(tmp_path / "out", 1, "tune")[1] == ["tune-1"]
    assert output_stems(tmp_path / "song.wav", 1) == (tmp_path, ["song"], ".mid")
    assert output_stems(tmp_path / "song.midi", 2) == (tmp_path, ["song-1", "song-2"], ".midi")
    with pytest.raises(ConfigError, match="--name"):
        output_stems(tmp_path / "song.mid", 1, "tune")


def test_cli_generate_out_file_folder_and_existing_file(
    melody_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["generate", "--model", str(melody_run), "--seed", SEED, "--steps", "16"]
    assert main([*base, "--out", str(tmp_path / "mysong.mid")]) == 0
    written = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in written) == [
        "mysong.mid",
        "mysong.musicxml",
        "mysong.png",
        "mysong.wav",
    ]
    # an output of an earlier run named as --out: the outputs are written again beside it
    assert main([*base, "--out", str(tmp_path / "mysong.png")]) == 0
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "folder")]) == 0
    assert (tmp_path / "folder" / "output-1.mid").is_file()
    capsys.readouterr()
    (tmp_path / "plain").write_text("not a folder")
    for out in (tmp_path / "plain", tmp_path / "plain" / "x.mid", tmp_path / "x.txt"):
        assert main([*base, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Error" not in err and str(out) in err


def test_continuation_save_refuses_a_file_for_a_folder(generator: Generator, tmp_path: Path):
    [out] = generator.generate_continuation(SEED, steps=8, rng_seed=0)
    (tmp_path / "taken").write_text("")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        out.save(tmp_path / "taken", "x")


def test_cli_extend_out_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_audio_signals import groove, write

    song = write(tmp_path / "song.flac", groove(22_050, bars=2), 22_050)
    out = tmp_path / "out"
    assert main(["extend", str(song), "--duration", "6", "--out", str(out)]) == 0
    assert (out / "song-extended.flac").is_file()
    assert str(out / "song-extended.flac") in capsys.readouterr().out
    (tmp_path / "plain").write_text("")
    assert main(["extend", str(song), "--duration", "6", "--out", str(tmp_path / "plain")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


# -- devices -----------------------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_cuda_device_is_said_plainly(
    melody_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        pick_device("cuda")
    code = main(["generate", "--model", str(melody_run), "--device", "cuda", "--steps", "8",
                 "--out", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "CUDA is not available" in err and "damaged" not in err
    assert len(err.splitlines()) == 1


def test_device_names() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="not a device"):
        pick_device("gpu-please")
    if torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA device"):
            pick_device(f"cuda:{torch.cuda.device_count()}")


# -- seeds -------------------------------------------------------------------------------------
def test_a_polyphonic_seed_file_is_named_and_the_advice_fits_generate(
    generator: Generator, tmp_path: Path, capsys: pytest.CaptureFixture[str], melody_run: Path
) -> None:
    from continuo import io

    chords = make_score([(0, 480, 60, 80), (0, 480, 64, 80), (480, 480, 67, 80)])
    io.write_midi(chords, tmp_path / "chords.mid")
    with pytest.raises(SeedError, match=r"chords\.mid") as caught:
        generator.generate_continuation(tmp_path / "chords.mid", steps=8)
    message = str(caught.value)
    assert "not a melody" in message and "polyphony=" not in message
    assert "one voice" in message
    code = main(["generate", "--model", str(melody_run), "--seed-file",
                 str(tmp_path / "chords.mid"), "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "chords.mid" in err and len(err.splitlines()) == 1


# -- lengths in bars end on a bar line ---------------------------------------------------------
def test_steps_to_bar_line() -> None:
    half_bar = seed_from_text(SEED)  # 8 steps of 4/4 (16 steps a bar)
    tpq = half_bar.ticks_per_quarter
    assert steps_to_bar_line(half_bar, 2 * tpq, 128, 4) == 136
    assert steps_to_bar_line(half_bar, 4 * tpq, 128, 4) == 128  # seed ends on a bar line
    assert steps_to_bar_line(None, 0, 40, 4) == 48  # 2.5 bars from nothing: 3 bars
    waltz = make_score([(0, 480, 60, 80)], time_signature=(3, 4))  # one beat of a 3/4 bar
    assert steps_to_bar_line(waltz, 480, 24, 4) == 32  # 2 bars + the 2 beats left of the first


def test_bars_after_a_half_bar_seed_end_on_a_bar_line(generator: Generator) -> None:
    [out] = generator.generate_continuation(SEED, bars=2, rng_seed=0)
    assert len(out.tokens) == 32 + 8  # the rest of the seed's bar, then two bars
    steps = out.seed_end / out.score.ticks_per_quarter * 4 + len(out.tokens)
    assert steps % 16 == 0
    [exact] = generator.generate_continuation(SEED, steps=32, rng_seed=0)
    assert len(exact.tokens) == 32  # steps are steps


# -- tokens ------------------------------------------------------------------------------------
def test_tokens_are_in_the_outputs_key(generator: Generator) -> None:
    """The model sees the D major seed in C; the tokens, like the notes, come back in D."""
    seed_in_c = "60 _ 62 _ 64 _ 65 _ 67 _ _ _ 64 _ 60 _"
    seed_in_d = "62 _ 64 _ 66 _ 67 _ 69 _ _ _ 66 _ 62 _"
    [in_c] = generator.generate_continuation(seed_in_c, steps=32, temperature=0)
    [in_d] = generator.generate_continuation(seed_in_d, steps=32, temperature=0)
    up = [str(int(t) + 2) if t.isdigit() else t for t in in_c.tokens]
    assert in_d.tokens == up
    pitches = [int(t) for t in in_d.tokens if t.isdigit()]
    new = [n.pitch for n in in_d.score.tracks[0].notes if n.time >= in_d.seed_end]
    assert pitches == new
