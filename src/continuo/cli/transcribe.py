"""``continuo transcribe``: a sung, hummed, whistled or played take to a melody seed.

continuo transcribe hum.wav --out seed.mid
continuo transcribe take.webm --tempo 90 --out seed.mid
continuo generate --seed-audio hum.wav --bars 8 --out out     # transcribe and continue
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from continuo.cli.options import resolve_out, staged_out
from continuo.storage import fetch

__all__ = ["add_parser", "report", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "transcribe",
        help="turn a recording of one voice or instrument into a melody seed",
        description=(
            "Transcribe TAKE (wav, flac, ogg, mp3, or the webm a browser records): one voice or "
            "instrument, sung, hummed, whistled or played. Prints the melody as a seed "
            '("67 _ 67 _ 65 64 _ r", one token per 16th note) to correct and give to '
            "`continuo generate --seed`, and writes it as MIDI with --out. Tempo, meter and "
            "key are found from the take (give --tempo when you know it). A take that is too "
            "short, silent, unpitched or holds two voices at once is refused with the reason."
        ),
    )
    add_take_options(parser)
    parser.add_argument("take", metavar="TAKE", help="the recording (a path or a URL)")
    parser.add_argument(
        "--out", metavar="FILE", help="write the melody as MIDI (.mid or .midi; or its URL)"
    )
    parser.add_argument("--names", action="store_true", help="print note names (G4) not numbers")
    parser.add_argument("--json", action="store_true", help="print the notes as JSON")
    parser.set_defaults(run=run)


def add_take_options(parser: argparse.ArgumentParser) -> None:
    """``--tempo``: shared by ``transcribe`` and ``generate --seed-audio``."""
    parser.add_argument(
        "--tempo",
        type=float,
        metavar="BPM",
        help="the take's tempo in quarter notes a minute (default: found by beat tracking)",
    )


def report(transcription, name: str, *, names: bool = False) -> str:
    """Two lines: what was heard, and the seed text."""
    return f"{name}: {transcription.describe()}\n{transcription.seed_text(names=names)}"


def run(args: argparse.Namespace) -> int:
    if args.out is None:
        return _transcribe(args, None, str)
    with staged_out(args.out, (".mid", ".midi")) as (out, shown):
        out, is_file = resolve_out(out, (".mid", ".midi"))
        if not is_file:
            out = out / f"{Path(str(args.take).rsplit('/', 1)[-1]).stem}.mid"
        return _transcribe(args, out, shown)


def _transcribe(args: argparse.Namespace, out: Path | None, shown: Callable[[Path], str]) -> int:
    """Transcribe ``args.take``, print it, and write it to the local ``out`` (if given)."""
    from continuo.audio.transcription import transcribe_file

    transcription = transcribe_file(fetch(args.take), tempo=args.tempo, progress=True)
    if args.json:
        print(
            json.dumps(
                {
                    "take": str(args.take),
                    "tempo": round(transcription.tempo, 2),
                    "time_signature": list(transcription.time_signature),
                    "key": {"tonic": transcription.key[0], "mode": transcription.key[1]},
                    "tuning_semitones": round(transcription.tuning, 3),
                    "notes": [
                        {"onset": round(float(a), 3), "offset": round(float(b), 3), "pitch": int(p)}
                        for a, b, p in zip(
                            transcription.onsets,
                            transcription.offsets,
                            transcription.pitches,
                            strict=True,
                        )
                    ],
                    "seed": transcription.seed_text(),
                },
                indent=2,
            )
        )
    else:
        print(report(transcription, str(args.take), names=args.names))
    if out is not None:
        from continuo.io.midi import write_midi

        write_midi(transcription.score, out)
        print(f"wrote {shown(out)}", file=sys.stderr)
    return 0
