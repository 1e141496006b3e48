"""``continuo evaluate``: how well a trained model predicts held-out pieces."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from continuo.data.dataset import TokenCorpus
from continuo.errors import ConfigError
from continuo.evaluation.likelihood import evaluate_likelihood
from continuo.training.checkpoint import load_checkpoint
from continuo.training.trainer import pick_device

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained model on a dataset split",
        description="Cross-entropy of each token of the held-out pieces given the tokens before "
        "it (bits per token), next-token accuracy, and for melodies bits per note: the pitch of "
        "each note, as IDyOM reports it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  continuo evaluate runs/essen datasets/essen --split test --json\n",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"))
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    model, codec, config = load_checkpoint(args.run_dir, prefer=args.checkpoint, device=device)
    corpus = TokenCorpus.open(args.dataset)
    if corpus.codec.to_dict() != codec.to_dict():
        raise ConfigError(
            f"{args.dataset}: encoded with another codec than {args.run_dir} was trained on"
        )
    pieces = corpus.pieces(args.split)
    if not pieces:
        raise ConfigError(f"{args.dataset}: the {args.split} split has no pieces")
    result = evaluate_likelihood(
        model,
        codec,
        [corpus.piece_ids(p) for p in pieces],
        context=config["train"]["block_size"],
        window_objective=config["train"]["objective"] == "window",
        device=device,
    )
    figures = {"split": args.split, "pieces": len(pieces), **result.to_dict()}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        note = f", {result.bits_per_note:.3f} bits/note" if result.bits_per_note else ""
        print(
            f"{args.split}: {len(pieces):,} pieces, {result.tokens:,} tokens: "
            f"{result.bits_per_token:.3f} bits/token{note}, accuracy {result.accuracy:.1%}"
        )
    return 0
