"""The ``continuo`` command line: one module per subcommand, each with ``add_parser`` and ``run``.

Every error a user can cause is a :class:`~continuo.errors.ContinuoError`; it is printed as one line
(``continuo: error: ...``) and the command exits with status 2. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from continuo import __version__
from continuo.errors import ContinuoError

__all__ = ["build_parser", "main"]

#: Subcommand modules under ``continuo.cli``, in the order ``continuo --help`` lists them.
COMMANDS = [
    "demo",
    "generate",
    "transcribe",
    "prepare",
    "train",
    "evaluate",
    "extend",
    "train_audio",
    "app",
]

DESCRIPTION = """\
continuo learns the style of a body of music and continues any seed you give it.

typical use:
  continuo demo                                   continue a folk tune with the bundled model
  continuo generate --seed "67 _ 67 _ 65 64 _ r" --bars 8 --out out
  continuo prepare ../shared/data/essen_kern/deutschl --codec melody --out datasets/essen
  continuo train datasets/essen --model transformer --out runs/essen
  continuo evaluate runs/essen datasets/essen --split test
  continuo extend song.ogg --duration 300 --out song-5min.ogg
  continuo generate --seed-audio hum.wav --bars 8 --out out   sing a seed, hear it continued
  continuo app --models runs                      the web app, on http://127.0.0.1:8501

Run "continuo COMMAND --help" for a command's options and examples.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="continuo",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"continuo {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"continuo.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return int(args.run(args) or 0)
    except ContinuoError as error:
        print(f"continuo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("continuo: interrupted", file=sys.stderr)
        return 130
