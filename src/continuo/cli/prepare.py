"""``continuo prepare``: build a tokenised dataset from files, folders and corpora."""

from __future__ import annotations

import argparse
import json

from continuo.cli.options import parse_key_values
from continuo.codecs import CODECS, get_codec
from continuo.data.build import BuildSummary, prepare_corpus
from continuo.data.cache import default_cache_dir
from continuo.errors import ConfigError
from continuo.storage import POINTER, exists, fetch, is_url, join, staged

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  continuo prepare ../shared/data/essen_kern/deutschl --codec melody --out datasets/essen
  continuo prepare music21:essenFolksong --codec melody --out datasets/essen-abc
  continuo prepare midi/ --codec events --out datasets/piano --json
  continuo prepare ../shared/data/jsb_chorales --codec pianoroll --out datasets/jsb
  continuo prepare my-piano-midi/ --like piano --out datasets/mine   # to fine-tune the piano model
  continuo prepare s3://corpus/songs --codec melody --out s3://corpus/datasets/songs
  continuo prepare shards/0 shards/1 shards/2 --codec melody --out datasets/all   # merge shards

Files of unknown type inside a folder are ignored. A file that cannot be read, or a piece the
codec cannot represent, is skipped and reported with its reason; the build goes on. Every parse
is cached by the file's content hash (in $CONTINUO_CACHE, default ~/.cache/continuo), so a second
run re-reads nothing unchanged. A build in which no piece at all could be read is an error and
writes nothing (an earlier dataset at --out stays as it was).

A SOURCE may be a dataset that prepare wrote (a shard of a corpus prepared on another machine):
its pieces join as they are, nothing parsed again; shards merge when prepared with the same codec
settings. Any SOURCE and --out may be a URL (s3://, gs://, az://, memory://; http(s):// to read):
remote sources are copied into the cache first, and only what changed is downloaded again.

Splits: a source's own train/valid/test split is kept (the JSB chorales'); identical pieces
always share a split; the others fall by a hash of the piece's name (stable as the corpus grows),
topped up so that valid and test each get their fraction, and at least 3 pieces where the corpus
has 30. JSB chorales given at several grids (../shared/data/jsb_chorales holds the same chorales
at three) are read at one, which the summary names.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="build a tokenised dataset from music files",
        description="Read music files, encode every piece with a codec, and write a dataset "
        "(token ids in a memory-mapped array, and a manifest with a train/valid/test split by "
        "piece) for continuo train.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a file, a folder (read recursively), its URL (s3://...), or a corpus name such as "
        "music21:bach",
    )
    parser.add_argument(
        "--codec", choices=sorted(CODECS), help="how pieces become tokens (default: melody)"
    )
    parser.add_argument(
        "--like",
        metavar="MODEL",
        help="encode the way MODEL expects: a bundled model (folk, piano) or a run folder; "
        "then continuo train DATA --init-from MODEL fine-tunes it",
    )
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a codec option, e.g. -o steps_per_quarter=8 -o transpose=false (repeatable)",
    )
    parser.add_argument(
        "--out", required=True, help="the dataset folder to write, or its URL (s3://...)"
    )
    parser.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    parser.add_argument(
        "--valid-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="share of pieces held out for validation, at least 3 where there are 30 (0.05)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="share of pieces held out for testing, at least 3 where there are 30 (0.05)",
    )
    parser.add_argument(
        "--jsb-grid",
        choices=("16th", "8th", "quarter"),
        help="read JSB chorales given at several grids at this one (default: the codec's grid, "
        "else the finest)",
    )
    parser.add_argument("--no-cache", action="store_true", help="parse every file again")
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow reading MusicNet's musicnet.npz, which needs pickle: only for files you trust",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as JSON on standard output"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.like:
        from continuo.training.checkpoint import load_codec

        if args.codec or args.option:
            raise ConfigError(
                "--like takes the codec and its options from the model: drop --codec/-o"
            )
        codec = load_codec(args.like)
    else:
        codec = get_codec(args.codec or "melody", **parse_key_values(args.option, "codec option"))
    with staged(args.out) as out:  # an --out that cannot be written fails before any download
        if is_url(args.out):
            _check_remote_out(args.out)
        sources = [str(fetch(source)) if is_url(source) else source for source in args.sources]
        summary = prepare_corpus(
            sources,
            codec,
            out,
            jobs=args.jobs,
            cache_dir=None if args.no_cache else default_cache_dir(),
            trust_pickle=args.trust_pickle,
            valid_fraction=args.valid_fraction,
            test_fraction=args.test_fraction,
            jsb_grid=args.jsb_grid,
            source_names=args.sources,
        )
    summary.out = str(args.out)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(format_summary(summary))
    return 0


def _check_remote_out(url: str) -> None:
    """Refuse to write a dataset over a remote folder that holds something else."""
    if exists(url) and not exists(join(url, POINTER)):
        raise ConfigError(f"{url}: the folder is not empty and is not a continuo dataset")


def format_summary(summary: BuildSummary, max_skipped: int = 20) -> str:
    splits = " / ".join(f"{name} {count:,}" for name, count in summary.splits.items())
    lines = [
        f"read {summary.files:,} files ({summary.parsed:,} parsed, {summary.cached:,} from cache) "
        f"in {summary.seconds:.1f} s",
        f"wrote {summary.pieces:,} pieces, {summary.tokens:,} tokens to {summary.out} ({splits})",
        *summary.notes,
    ]
    if summary.skipped:
        lines.append(f"skipped {len(summary.skipped):,}:")
        lines += [f"  {s['file']}: {s['reason']}" for s in summary.skipped[:max_skipped]]
        if len(summary.skipped) > max_skipped:
            more = len(summary.skipped) - max_skipped
            lines.append(f"  ... and {more:,} more (all listed in {summary.out}/manifest.json)")
    return "\n".join(lines)
