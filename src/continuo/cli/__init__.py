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
COMMANDS = ["prepare"]

DESCRIPTION = """\
continuo learns the style of a body of music and continues any seed you give it.

typical use:
  continuo prepare ../shared/data/essen_kern/deutschl --codec melody --out datasets/essen
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
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except ContinuoError as error:
        print(f"continuo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("continuo: interrupted", file=sys.stderr)
        return 130
