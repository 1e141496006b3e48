"""``continuo generate``: continue a seed (or start from nothing) with a trained model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from continuo.errors import ConfigError

if TYPE_CHECKING:
    from continuo.generation.generator import Continuation

__all__ = ["add_parser", "run", "write_outputs"]

EPILOG = """\
seeds:
  --seed "67 _ 67 _ 65 64 _ r"        MIDI pitches, _ hold, r rest (16th-note steps)
  --seed "[67, -2, 67, -2, 65, 64]"   Magenta's primer syntax (-2 hold, -1 rest)
  --seed "G4 _ G4 _ F4 E4"            note names (C4 = 60)
  --seed-file song.mid --last-bars 4  a MIDI, kern, ABC or MusicXML file (or its last bars)

examples:
  continuo generate --seed "67 _ 67 _ 65 64 _ r" --bars 8 --out continuo-output
  continuo generate --model runs/essen --num-outputs 4 --temperature 0.9 --top-p 0.95 --out out
  continuo generate --model runs/piano --seed-file intro.mid --seconds 30 --out out

For each output it writes NAME-N.mid, .musicxml, .wav and .png into --out and prints the paths.
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
    seed.add_argument("--seed-file", type=Path, metavar="PATH", help="a seed file")
    parser.add_argument(
        "--last-bars", type=int, metavar="N", help="use only the seed's last N bars"
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, metavar="N", help="length in grid steps (16ths)")
    length.add_argument(
        "--bars", type=float, metavar="N", help="length in bars of the seed's meter"
    )
    length.add_argument("--seconds", type=float, metavar="S", help="length in seconds")
    parser.add_argument("--temperature", type=float, default=1.0, metavar="T")
    parser.add_argument("--top-k", type=int, metavar="K", help="sample among the K likeliest")
    parser.add_argument("--top-p", type=float, default=0.95, metavar="P", help="nucleus sampling")
    parser.add_argument("--num-outputs", type=int, default=1, metavar="N")
    parser.add_argument("--rng-seed", type=int, metavar="S", help="makes the output reproducible")
    parser.add_argument("--stop-at-end", action="store_true", help="stop where the song ends")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--name", default="output", help="file name stem (default: output)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from continuo.generation.generator import Generator

    if args.num_outputs < 1:
        raise ConfigError("--num-outputs must be at least 1")
    generator = Generator.from_pretrained(args.model, device=args.device)
    outputs = generator.generate_continuation(
        args.seed_file if args.seed_file is not None else args.seed,
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
    )
    write_outputs(outputs, args.out, args.name)
    return 0


def write_outputs(outputs: list[Continuation], folder: Path, name: str) -> None:
    """Save every output and print one line per file written."""
    for i, output in enumerate(outputs, start=1):
        for path in output.save(folder, f"{name}-{i}").values():
            print(path)
