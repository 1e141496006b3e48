"""``continuo demo``: continue a folk seed with the bundled model, no arguments needed."""

from __future__ import annotations

import argparse
from pathlib import Path

from continuo.cli.generate import write_outputs

__all__ = ["DEMO_SEED", "add_parser", "run"]

#: The opening of "Alle meine Entchen" (in 16th-note steps), a German folk tune.
DEMO_SEED = "60 _ 62 _ 64 _ 65 _ 67 _ _ _ 67 _ _ _ 69 _ 69 _ 69 _ 69 _ 67 _ _ _ r _ _ _"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="continue a folk melody with the bundled model",
        description="Continue the opening of a German folk song for 8 bars with the model that "
        "ships inside continuo, and write MIDI, MusicXML, WAV and a piano-roll PNG.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("continuo-output"),
        metavar="DIR_OR_FILE",
        help="a folder (default: continuo-output, which gets demo-1.*), or a file name ending "
        "in .mid, .midi, .musicxml, .wav or .png",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from continuo.generation.generator import Generator

    generator = Generator.from_pretrained("folk")
    outputs = generator.generate_continuation(
        DEMO_SEED, bars=8, temperature=0.9, top_p=0.95, rng_seed=7, num_outputs=1
    )
    print(f"continued {DEMO_SEED!r} with the bundled folk model:")
    write_outputs(outputs, args.out, None, default_name="demo")
    return 0
