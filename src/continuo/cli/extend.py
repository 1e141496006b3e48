"""``continuo extend``: make a recording any length, by its own structure or with a trained model.

continuo extend song.ogg --duration 300 --out long.wav
continuo extend song.ogg --duration 5:00 --out long.flac --json
continuo extend song.ogg --duration 90 --out more.wav --method neural --model runs/audio
continuo extend song.ogg --duration 300 --out out          # writes out/song-extended.ogg
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from continuo.cli.options import resolve_out
from continuo.errors import ConfigError

__all__ = ["add_parser", "parse_duration", "run"]


def parse_duration(text: str) -> float:
    """Seconds from ``"300"``, ``"300s"``, ``"5:00"`` or ``"1:02:30"``; ConfigError otherwise."""
    raw = text.strip().lower().removesuffix("s")
    try:
        parts = [float(p) for p in raw.split(":")]
    except ValueError:
        raise ConfigError(f"--duration {text!r} is not a number of seconds or m:ss") from None
    if len(parts) > 3 or any(p < 0 for p in parts[1:]):
        raise ConfigError(f"--duration {text!r} is not a number of seconds or m:ss")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60.0 + p
    return seconds


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extend",
        help="extend or continue a recording to a chosen duration",
        description=(
            "Extend INPUT (wav, flac, ogg, mp3) to exactly --duration seconds. The output starts "
            "with the original, keeps its sample rate and channels, and ends on the song's own "
            "ending (or a fade). structure (default): replays the recording's own beats along "
            "seamless jumps. neural: continues it with a model trained by `continuo train-audio`; "
            "silence at the start and end of INPUT is trimmed first (so a recording that ends in "
            "silence is continued from its last sound), and the output says how much."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="the recording to extend")
    parser.add_argument(
        "--duration", required=True, metavar="SECONDS", help="output length: seconds or m:ss"
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE_OR_DIR",
        help="a name ending in .wav, .flac, .ogg or .mp3 is the output file; a name without a "
        "suffix, or an existing folder, is a folder that gets INPUT-extended.EXT (the input's "
        "format, else .wav); any other suffix is an error (the rule of generate --out too)",
    )
    # the names of continuo.audio.extender.METHODS (a test keeps them equal), here without
    # importing numpy and soundfile just to build the parser
    parser.add_argument("--method", choices=("structure", "neural"), default="structure")
    parser.add_argument("--model", metavar="RUN_DIR", help="model folder for --method neural")
    parser.add_argument(
        "--temperature", type=float, default=0.3, help="neural: sampling temperature (0: mean)"
    )
    parser.add_argument("--seed", type=int, default=0, help="neural: random seed")
    parser.add_argument("--threads", type=int, default=1, help="neural: torch threads")
    parser.add_argument(
        "--json", action="store_true", help="print the duration and splice points as JSON"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from continuo.audio.extender import Extender, describe
    from continuo.audio.extension import check_duration
    from continuo.io.audio import WRITABLE_FORMATS, check_writable

    duration = check_duration(parse_duration(str(args.duration)))
    out, is_file = resolve_out(args.out, tuple(WRITABLE_FORMATS))
    if not is_file:
        source = Path(args.input)
        suffix = source.suffix.lower() if source.suffix.lower() in WRITABLE_FORMATS else ".wav"
        out = out / f"{source.stem}-extended{suffix}"
    check_writable(out)
    extender = Extender.load(  # a bad model folder fails before any work
        args.method,
        args.model or None,
        temperature=args.temperature,
        seed=args.seed,
        threads=args.threads,
    )
    result, audio = extender.extend_file(
        args.input,
        out,
        duration,
        warn=lambda text: print(f"continuo: warning: {text}", file=sys.stderr),
    )
    if args.json:
        report = {"input": str(args.input), "output": str(out), **result.to_json()}
        print(json.dumps(report, indent=2))
    else:
        print(f"{out}: {describe(result, audio.duration)}")
    return 0
