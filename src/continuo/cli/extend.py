"""``continuo extend``: make a recording any length, by its own structure or with a trained model.

continuo extend song.ogg --duration 300 --out long.wav
continuo extend song.ogg --duration 5:00 --out long.flac --json
continuo extend song.ogg --duration 90 --out more.wav --method neural --model runs/audio
continuo extend song.ogg --duration 300 --out out          # writes out/song-extended.ogg
continuo extend hum.wav --duration 30 --out more.wav --method melody   # new notes, its own sound
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from continuo.cli.options import resolve_out, staged_out
from continuo.errors import ConfigError
from continuo.storage import fetch, is_url

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
            "silence is continued from its last sound), and the output says how much. melody: "
            "transcribes one voice or instrument, continues its notes with a melody model "
            "(--model, default folk) and plays them from the recording's own notes."
        ),
        epilog="which method:\n"
        + "\n".join(f"  {name:10s} {text}" for name, text in _advice().items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", help="the recording to extend (a path or a URL)")
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
    parser.add_argument("--method", choices=("structure", "neural", "melody"), default="structure")
    parser.add_argument(
        "--model",
        metavar="RUN_DIR",
        help="neural: the audio model's folder; melody: a melody model (default: folk)",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        help="sampling temperature (neural: default 0.3, 0 gives the mean; melody: 1.0)",
    )
    parser.add_argument("--seed", type=int, default=0, help="neural, melody: random seed")
    parser.add_argument("--threads", type=int, default=1, help="neural: torch threads")
    parser.add_argument(
        "--json", action="store_true", help="print the duration and splice points as JSON"
    )
    parser.set_defaults(run=run)


def _advice() -> dict[str, str]:
    from continuo.audio.extender import ADVICE

    return ADVICE


def run(args: argparse.Namespace) -> int:
    from continuo.audio.extension import check_duration
    from continuo.io.audio import WRITABLE_FORMATS

    duration = check_duration(parse_duration(str(args.duration)))
    with staged_out(args.out, tuple(WRITABLE_FORMATS)) as (out, shown):
        return _extend(args, duration, out, shown)


def _extend(
    args: argparse.Namespace, duration: float, out: Path, shown: Callable[[Path], str]
) -> int:
    """Extend ``args.input`` into the local ``out``; ``shown`` names an output as printed."""
    from continuo.audio.extender import Extender, describe
    from continuo.io.audio import WRITABLE_FORMATS, check_writable

    out, is_file = resolve_out(out, tuple(WRITABLE_FORMATS))
    if not is_file:
        source = Path(str(args.input).rstrip("/").rsplit("/", 1)[-1])
        suffix = source.suffix.lower() if source.suffix.lower() in WRITABLE_FORMATS else ".wav"
        out = out / f"{source.stem}-extended{suffix}"
    check_writable(out)
    model = args.model or None
    temperature = args.temperature
    if args.method == "melody":  # a bad model fails before any work
        from continuo.generation.generator import Generator

        generator = Generator.from_pretrained(model or "folk")
        if not generator.codec.text_seed:
            raise ConfigError(f"--method melody needs a melody model; {model} is not one")
        model = generator.note_continuer(
            temperature=1.0 if temperature is None else temperature,
            top_p=0.95,
            rng_seed=args.seed,
        )
    if isinstance(model, str) and is_url(model):  # a neural model's folder, from its URL
        model = str(fetch(model))
    extender = Extender.load(  # a bad model folder fails before any work
        args.method,
        model,
        temperature=0.3 if temperature is None else temperature,
        seed=args.seed,
        threads=args.threads,
    )
    result, audio = extender.extend_file(
        fetch(args.input),
        out,
        duration,
        warn=lambda text: print(f"continuo: warning: {text}", file=sys.stderr),
    )
    if args.json:
        report = {"input": str(args.input), "output": shown(out), **result.to_json()}
        print(json.dumps(report, indent=2))
    else:
        print(f"{shown(out)}: {describe(result, audio.duration)}")
        if "heard" in result.details:
            print(f"heard {result.details['heard']}: {result.details['seed']}")
    return 0
