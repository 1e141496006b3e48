"""``continuo generate``: continue a seed (or start from nothing) with a trained model."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from continuo.cli.options import resolve_out, staged_out
from continuo.cli.transcribe import add_take_options, report
from continuo.errors import ConfigError
from continuo.storage import fetch

if TYPE_CHECKING:
    from continuo.generation.generator import Continuation
    from continuo.score import Score

__all__ = ["OUTPUT_SUFFIXES", "add_parser", "output_stems", "run", "write_outputs"]

#: What ``--out FILE`` may end in; each names all four outputs' common stem.
OUTPUT_SUFFIXES = (".mid", ".midi", ".musicxml", ".wav", ".png")

EPILOG = """\
seeds:
  --seed "67 _ 67 _ 65 64 _ r"        MIDI pitches, _ hold, r rest (16th-note steps)
  --seed "[67, -2, 67, -2, 65, 64]"   Magenta's primer syntax (-2 hold, -1 rest)
  --seed "G4 _ G4 _ F4 E4"            note names (C4 = 60)
  --seed-file song.mid --last-bars 4  a MIDI, kern, ABC or MusicXML file (or its last bars)
  --seed-audio hum.wav [--tempo 90]   a take of one voice or instrument, transcribed first
                                      (melody models; see continuo transcribe)

lengths:
  --steps, --bars or --seconds: at most 65,536 grid steps per generation (with 16th-note steps,
  as the folk model's: 16,384 quarter notes, 4,096 bars of 4/4, 2 h 16 min at 120 qpm); a longer
  request is refused. --num-outputs: 1 to 256. Long generations show their progress on standard
  error (a line every few seconds when that is not a terminal).

examples:
  continuo generate --seed "67 _ 67 _ 65 64 _ r" --bars 8 --out continuo-output
  continuo generate --model runs/essen --num-outputs 4 --temperature 0.9 --top-p 0.95 --out out
  continuo generate --model runs/piano --seed-file intro.mid --seconds 30 --out out
  continuo generate --seed "67 _ 67 _ 65 64 _ r" --bars 8 --out mysong.mid

outputs (--out follows the same rule as in continuo extend):
  --out mysong.mid    a name ending in .mid, .midi, .musicxml, .wav or .png is a file: writes
                      mysong.mid, .musicxml, .wav and .png (several outputs: mysong-1.*, ...)
  --out FOLDER        a name without a suffix, or an existing folder: writes NAME-1.mid,
                      .musicxml, .wav, .png (NAME-2.*, ...) into it (--name, default output)
  any other suffix is an error, and so is a file where a folder is needed.
It prints the path of every file written.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="continue a seed with a trained model",
        description="Continue a seed melody or file, or write from scratch, with a trained "
        "model (default: the bundled folk model). Output keeps the seed verbatim, in its key, "
        "meter and tempo.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", default="folk", metavar="NAME_OR_RUN_DIR", help="bundled model or run folder"
    )
    seed = parser.add_mutually_exclusive_group()
    seed.add_argument("--seed", metavar="TEXT", help="a melody seed as text (see below)")
    seed.add_argument("--seed-file", metavar="PATH", help="a seed file (a path or a URL)")
    seed.add_argument(
        "--seed-audio", metavar="TAKE", help="a sung or played take to continue (a path or a URL)"
    )
    add_take_options(parser)
    parser.add_argument(
        "--last-bars", type=int, metavar="N", help="use only the seed's last N bars"
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help="length in grid steps (16ths for the folk model), at most 65,536",
    )
    length.add_argument(
        "--bars", type=float, metavar="N", help="length in bars of the seed's meter"
    )
    length.add_argument("--seconds", type=float, metavar="S", help="length in seconds")
    parser.add_argument("--num-outputs", type=int, default=1, metavar="N", help="1 to 256")
    parser.add_argument("--temperature", type=float, default=1.0, metavar="T")
    parser.add_argument("--top-k", type=int, metavar="K", help="sample among the K likeliest")
    parser.add_argument("--top-p", type=float, default=0.95, metavar="P", help="nucleus sampling")
    parser.add_argument("--rng-seed", type=int, metavar="S", help="makes the output reproducible")
    parser.add_argument("--stop-at-end", action="store_true", help="stop where the song ends")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR_OR_FILE",
        help="a folder, or a file name ending in .mid, .midi, .musicxml, .wav or .png; or the "
        "URL of either (s3://...)",
    )
    parser.add_argument(
        "--name", help="file name stem in a folder --out (default: output; NAME-1.mid, ...)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from continuo.generation.generator import Generator

    if args.num_outputs < 1:
        raise ConfigError("--num-outputs must be at least 1")
    with staged_out(args.out, OUTPUT_SUFFIXES) as (out, shown):
        output_stems(out, args.num_outputs, args.name)  # a bad --out fails before any work
        if args.tempo is not None and args.seed_audio is None:
            raise ConfigError("--tempo is the tempo of a --seed-audio take")
        generator = Generator.from_pretrained(args.model, device=args.device)
        seed = fetch(args.seed_file) if args.seed_file is not None else args.seed
        if args.seed_audio is not None:
            seed = _heard(args.seed_audio, args.tempo, generator)
        outputs = generator.generate_continuation(
            seed,
            steps=args.steps,
            bars=args.bars,
            seconds=args.seconds,
            num_outputs=args.num_outputs,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            rng_seed=args.rng_seed,
            stop_at_end=args.stop_at_end,
            last_bars=args.last_bars,
            progress=True,
        )
        write_outputs(outputs, out, args.name, shown=shown)
    return 0


def _heard(take: str, tempo: float | None, generator) -> Score:
    """The transcription of ``take``, said on standard error, as the seed score."""
    from continuo.audio.transcription import transcribe_file

    if not generator.codec.text_seed:
        raise ConfigError(
            f"--seed-audio is for melody models; {generator.codec.name!r} models take a --seed-file"
        )
    transcription = transcribe_file(
        fetch(take), tempo=tempo, steps_per_quarter=generator.steps_per_quarter, progress=True
    )
    print(f"heard {report(transcription, str(take))}", file=sys.stderr)
    return transcription.score


def output_stems(
    out: Path, count: int, name: str | None = None, default_name: str = "output"
) -> tuple[Path, list[str], str]:
    """``(folder, one stem per output, MIDI suffix)`` for ``--out`` (see the epilog).

    A folder gets ``NAME-1``, ``NAME-2``, ...; a file name ``song.mid`` is the stem ``song`` for
    one output and ``song-1``, ``song-2``, ... for several, in the file's folder.
    """
    path, is_file = resolve_out(out, OUTPUT_SUFFIXES)
    if not is_file:
        stem = name or default_name
        return path, [f"{stem}-{i}" for i in range(1, count + 1)], ".mid"
    if name:
        raise ConfigError(f"--name is for a folder --out; {out} already names the files")
    midi = ".midi" if path.suffix.lower() == ".midi" else ".mid"
    if count == 1:
        return path.parent, [path.stem], midi
    return path.parent, [f"{path.stem}-{i}" for i in range(1, count + 1)], midi


def write_outputs(
    outputs: list[Continuation],
    out: Path,
    name: str | None,
    default_name: str = "output",
    *,
    shown: Callable[[Path], str] = str,
) -> None:
    """Save every output where ``--out`` says (:func:`output_stems`) and print each file
    (``shown(path)``: its URL, for an ``--out`` in object storage)."""
    folder, stems, midi = output_stems(out, len(outputs), name, default_name)
    for output, stem in zip(outputs, stems, strict=True):
        for path in output.save(folder, stem, midi_suffix=midi).values():
            print(shown(path))
