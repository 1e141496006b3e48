"""``continuo evaluate``: how well a trained model predicts held-out pieces, and (``--stats``)
how its own pieces compare with them."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from continuo.errors import ConfigError

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  continuo evaluate runs/essen datasets/essen --split test --json
  continuo evaluate runs/piano datasets/piano --stats --num-pieces 20 --quarters 32

With --stats the model writes --num-pieces pieces from nothing, each --quarters long, and
as many pieces of the split (their first --quarters) are decoded; both sets get pitch-class
entropy, scale consistency, polyphony, groove consistency, empty-beat rate, pitch range and
the pitch-class and note-length histograms. For each statistic it prints the mean and
standard deviation of both sets and Yang & Lerch's (2020) overlap of the reference set's
intra-set distances with the inter-set distances (1 = as close to the real pieces as they are
to each other), with its KL divergence, and for single numbers the overlap of the two sets'
value densities.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained model on a dataset split",
        description="Cross-entropy of each token of the held-out pieces given the tokens before "
        "it (bits per token), next-token accuracy, and for melodies bits per note: the pitch of "
        "each note, as IDyOM reports it. With --stats, musical statistics of generated pieces "
        "against held-out ones.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder or checkpoint, or its URL")
    parser.add_argument("dataset", metavar="DATASET", help="a prepared dataset, or its URL")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"))
    parser.add_argument(
        "--checkpoint",
        default="best",
        choices=("best", "last"),
        help="which checkpoint of RUN_DIR (default: best; an error if the run has none)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    stats = parser.add_argument_group("musical statistics")
    stats.add_argument(
        "--stats", action="store_true", help="compare generated pieces with the split's pieces"
    )
    stats.add_argument(
        "--num-pieces", type=int, default=20, metavar="N", help="pieces per set (default: 20)"
    )
    stats.add_argument(
        "--quarters",
        type=float,
        metavar="Q",
        help="length of every piece in quarter notes (default: the split's median, at most 32)",
    )
    stats.add_argument(
        "--temperature", type=float, default=1.0, metavar="T", help="sampling temperature"
    )
    stats.add_argument("--top-p", type=float, default=0.95, metavar="P", help="nucleus sampling")
    stats.add_argument(
        "--rng-seed", type=int, default=0, metavar="S", help="picks the pieces and the samples"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from continuo.data.dataset import TokenCorpus
    from continuo.device import pick_device
    from continuo.evaluation.likelihood import evaluate_likelihood
    from continuo.training.checkpoint import load_checkpoint

    if args.stats and args.num_pieces < 2:
        raise ConfigError("--num-pieces must be at least 2 (distances need pairs)")
    if args.quarters is not None and not args.quarters > 0:
        raise ConfigError("--quarters must be positive")
    device = pick_device(args.device)
    model, codec, run_config = load_checkpoint(
        args.run_dir, prefer=args.checkpoint, fallback=False, device=device
    )
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
        context=run_config.context,
        window_objective=run_config.window_objective,
        device=device,
    )
    figures: dict[str, Any] = {"split": args.split, "pieces": len(pieces), **result.to_dict()}
    if args.stats:
        figures["stats"] = _statistics(args, model, run_config, corpus, pieces)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    note = ""
    if result.sequence_bits_per_note:
        note += f", {result.sequence_bits_per_note:.3f} bits/note (all tokens)"
    if result.bits_per_note:
        note += f", {result.bits_per_note:.3f} bits/note (pitch, IDyOM's unit)"
    print(
        f"{args.split}: {len(pieces):,} pieces, {result.tokens:,} tokens: "
        f"{result.bits_per_token:.3f} bits/token{note}, accuracy {result.accuracy:.1%}"
    )
    if args.stats:
        _print_statistics(figures["stats"], args.split)
    return 0


def _statistics(args, model, run_config, corpus, pieces: list[dict]) -> dict[str, Any]:
    """Generate ``--num-pieces`` pieces and compare them with as many pieces of the split."""
    import numpy as np

    from continuo.evaluation.distributions import compare_sets
    from continuo.evaluation.stats import excerpt
    from continuo.generation.generator import Generator

    codec = run_config.codec
    rng = np.random.default_rng(args.rng_seed)
    count = min(args.num_pieces, len(pieces))
    chosen = sorted(rng.choice(len(pieces), size=count, replace=False).tolist())
    ids = [corpus.piece_ids(pieces[i]) for i in chosen]
    quarters = args.quarters
    if quarters is None:
        median = float(np.median([codec.length_in_quarters(piece) for piece in ids]))
        quarters = max(1.0, min(32.0, median))
    reference = [excerpt(codec.decode(piece), quarters) for piece in ids]
    generator = Generator(model, run_config)
    outputs = generator.generate(
        steps=max(1, round(quarters * generator.steps_per_quarter)),
        num_outputs=args.num_pieces,
        temperature=args.temperature,
        top_p=args.top_p,
        rng_seed=args.rng_seed,
    )
    generated = [excerpt(output.score, quarters) for output in outputs]
    return {"quarters": quarters, **compare_sets(generated, reference).to_dict()}


def _print_statistics(stats: dict[str, Any], split: str) -> None:
    print(
        f"statistics: {stats['generated']} generated vs {stats['reference']} {split} pieces, "
        f"{stats['quarters']:g} quarters each"
    )
    print(f"  {'':22} {'generated':>15} {split:>15} {'overlap':>8} {'KL':>6} {'values':>7}")
    for name, m in stats["metrics"].items():
        print(
            f"  {name:22} {_mean_std(m['generated_mean'], m['generated_std']):>15} "
            f"{_mean_std(m['reference_mean'], m['reference_std']):>15} "
            f"{_number(m['overlap'], 8)} {_number(m['kl'], 6)} {_number(m['value_overlap'], 7)}"
        )


def _mean_std(mean: Any, std: Any) -> str:
    if not isinstance(mean, float | int) or not isinstance(std, float | int):
        return "-"  # a histogram, or no value
    return f"{mean:.3g} ± {std:.2g}"


def _number(value: float | None, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}.3f}"
