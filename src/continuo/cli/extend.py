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

METHODS = ("structure", "neural")


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
    parser.add_argument("--method", choices=METHODS, default="structure")
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
    from continuo.audio.extension import check_duration, check_input, is_silent
    from continuo.io.audio import WRITABLE_FORMATS, check_writable, read_audio, write_audio

    duration = check_duration(parse_duration(str(args.duration)))
    out, is_file = resolve_out(args.out, tuple(WRITABLE_FORMATS))
    if not is_file:
        source = Path(args.input)
        suffix = source.suffix.lower() if source.suffix.lower() in WRITABLE_FORMATS else ".wav"
        out = out / f"{source.stem}-extended{suffix}"
    check_writable(out)
    if args.method == "neural" and not args.model:
        raise ConfigError("--method neural needs --model RUN_DIR (make one: continuo train-audio)")
    if args.method != "neural" and args.model:
        raise ConfigError("--model is only used with --method neural")
    if args.method == "neural":
        from continuo.audio.neural.checkpoint import load_model

        model = load_model(args.model)  # a bad model folder fails before any work
    audio = read_audio(args.input)
    check_input(audio, str(args.input))
    check_writable(out, audio.sample_rate)
    if is_silent(audio.samples):
        print(f"continuo: warning: {args.input} is silent; so is the output", file=sys.stderr)
    if args.method == "neural":
        from continuo.audio.neural.generate import extend_neural

        result = extend_neural(
            audio,
            duration,
            model,
            temperature=args.temperature,
            seed=args.seed,
            name=str(args.input),
            threads=args.threads,
        )
    else:
        from continuo.audio.structure import extend_structure

        result = extend_structure(audio, duration, name=str(args.input))
    write_audio(out, result.samples, result.sample_rate, subtype=audio.subtype)
    if args.json:
        report = {"input": str(args.input), "output": str(out), **result.to_json()}
        print(json.dumps(report, indent=2))
    else:
        ending = {"song": "its own ending", "fade": "a fade", "original": "unchanged"}
        trimmed = ""
        lead = result.details.get("trimmed_start_seconds", 0.0)
        tail = result.details.get("trimmed_end_seconds", 0.0)
        if lead or tail:
            trimmed = (
                f"; silence trimmed before continuing: {lead:.2f} s at the start, "
                f"{tail:.2f} s at the end"
            )
        print(
            f"{out}: {result.duration:.2f} s from {audio.duration:.2f} s, "
            f"{len(result.splices)} splice(s), ends with {ending.get(result.ending, result.ending)}"
            f"{trimmed}"
        )
    return 0
