"""``continuo train-audio``: train a small audio continuation model on a CPU, in minutes.

continuo train-audio song.ogg --out runs/song
continuo train-audio recordings/ --out runs/band --arch seq2seq --steps 2000
continuo train-audio recordings/ --out runs/band --steps 3000 --resume
"""

from __future__ import annotations

import argparse
import sys

from continuo.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from continuo.audio.neural.config import ARCHITECTURES, ModelConfig, TrainConfig

    m, t = ModelConfig(), TrainConfig()
    parser = subparsers.add_parser(
        "train-audio",
        help="train a model that continues recordings (for extend --method neural)",
        description=(
            "Train an audio continuation model on one recording or folders of them (wav, flac, "
            "ogg, mp3). Writes RUN_DIR/config.json, model.safetensors and training.safetensors, "
            "atomically, every --checkpoint-every steps; --resume goes on from the last one."
        ),
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="audio files or folders")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="model folder to write")
    parser.add_argument("--arch", choices=ARCHITECTURES, default=m.arch, help="model family")
    parser.add_argument("--steps", type=int, default=t.steps, help="total training steps")
    parser.add_argument("--batch", type=int, default=t.batch, help="examples per step")
    parser.add_argument("--hidden", type=int, default=m.hidden, help="GRU width")
    parser.add_argument("--layers", type=int, default=m.layers, help="GRU layers")
    parser.add_argument("--window", type=int, default=t.window, help="frame_rnn: frames/example")
    parser.add_argument("--context", type=int, default=m.context, help="seq2seq: input frames")
    parser.add_argument("--horizon", type=int, default=m.horizon, help="seq2seq: output frames")
    parser.add_argument("--lr", type=float, default=t.lr, help="peak learning rate")
    parser.add_argument("--seed", type=int, default=t.seed)
    parser.add_argument("--checkpoint-every", type=int, default=t.checkpoint_every)
    parser.add_argument(
        "--exclude-tail",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="hold out the last SECONDS of every source (to evaluate continuations)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--resume", action="store_true", help="continue training RUN_DIR")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from continuo.audio.neural.config import ModelConfig, TrainConfig
    from continuo.audio.neural.train import train_audio

    for name in ("steps", "batch", "hidden", "layers", "window", "context", "horizon"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be at least 1")
    if args.checkpoint_every < 1:
        raise ConfigError("--checkpoint-every must be at least 1")
    if not args.lr > 0:
        raise ConfigError("--lr must be positive")
    if args.exclude_tail < 0:
        raise ConfigError("--exclude-tail must not be negative")
    model = ModelConfig(
        arch=args.arch,
        hidden=args.hidden,
        layers=args.layers,
        context=args.context,
        horizon=args.horizon,
    )
    train = TrainConfig(
        steps=args.steps,
        batch=args.batch,
        window=args.window,
        lr=args.lr,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        exclude_tail=args.exclude_tail,
    )
    result = train_audio(
        args.sources,
        args.out,
        model,
        train,
        resume=args.resume,
        threads=args.threads,
        log=lambda line: print(f"continuo: {line}", file=sys.stderr),
    )
    last = f", loss {result.history[-1]:.4f}" if result.history else ""
    print(
        f"{args.out}: step {result.step} on {len(result.used)} recording(s){last}"
        + (f", {len(result.skipped)} skipped" if result.skipped else "")
    )
    return 0
