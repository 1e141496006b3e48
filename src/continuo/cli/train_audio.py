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

#: Options that are model settings, and those that are training settings (same names).
MODEL_OPTIONS = ("arch", "hidden", "layers", "context", "horizon")
TRAIN_OPTIONS = ("steps", "batch", "window", "lr", "seed", "checkpoint_every", "exclude_tail")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from continuo.audio.neural.config import ARCHITECTURES, AudioModelConfig, AudioTrainConfig

    m, t = AudioModelConfig(), AudioTrainConfig()
    parser = subparsers.add_parser(
        "train-audio",
        help="train a model that continues recordings (for extend --method neural)",
        description=(
            "Train an audio continuation model on one recording or folders of them (wav, flac, "
            "ogg, mp3). Writes RUN_DIR/config.json, model.safetensors and training.safetensors, "
            "atomically, every --checkpoint-every steps; --resume goes on from the last one, "
            "with the run's own settings (only --steps and --checkpoint-every may change). "
            "Progress goes to standard error: a bar on a terminal, a line every few seconds "
            "otherwise."
        ),
    )
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="audio files or folders, or their URLs"
    )
    parser.add_argument(
        "--out", required=True, metavar="RUN_DIR", help="model folder to write, or its URL"
    )
    # defaults are None so that --resume can tell what was given from the run's own settings
    parser.add_argument("--arch", choices=ARCHITECTURES, help=f"model family ({m.arch})")
    parser.add_argument(
        "--steps", type=int, help=f"total training steps ({t.steps}; resumed: the run's)"
    )
    parser.add_argument("--batch", type=int, help=f"examples per step ({t.batch})")
    parser.add_argument("--hidden", type=int, help=f"GRU width ({m.hidden})")
    parser.add_argument("--layers", type=int, help=f"GRU layers ({m.layers})")
    parser.add_argument("--window", type=int, help=f"frame_rnn: frames/example ({t.window})")
    parser.add_argument("--context", type=int, help=f"seq2seq: input frames ({m.context})")
    parser.add_argument("--horizon", type=int, help=f"seq2seq: output frames ({m.horizon})")
    parser.add_argument("--lr", type=float, help=f"peak learning rate ({t.lr})")
    parser.add_argument("--seed", type=int, help=f"random seed ({t.seed})")
    parser.add_argument(
        "--checkpoint-every", type=int, help=f"steps between checkpoints ({t.checkpoint_every})"
    )
    parser.add_argument(
        "--exclude-tail",
        type=float,
        metavar="SECONDS",
        help="hold out the last SECONDS of every source (to evaluate continuations; 0)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--resume", action="store_true", help="continue training RUN_DIR")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from continuo.audio.neural.config import AudioModelConfig, AudioTrainConfig
    from continuo.audio.neural.train import resumed_configs, train_audio
    from continuo.storage import Mirror, fetch, is_url

    for name in ("steps", "batch", "hidden", "layers", "window", "context", "horizon"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be at least 1")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise ConfigError("--checkpoint-every must be at least 1")
    if args.lr is not None and not args.lr > 0:
        raise ConfigError("--lr must be positive")
    if args.exclude_tail is not None and args.exclude_tail < 0:
        raise ConfigError("--exclude-tail must not be negative")
    model_given = {k: getattr(args, k) for k in MODEL_OPTIONS if getattr(args, k) is not None}
    train_given = {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}
    run_folder = Mirror(args.out)  # a URL: a local copy, each checkpoint published
    run_folder.pull()
    if args.resume:  # the run's own settings, with what this command may change
        model, train = resumed_configs(run_folder.local, model_given, train_given)
    else:
        model, train = AudioModelConfig(**model_given), AudioTrainConfig(**train_given)
    sources = [str(fetch(source)) if is_url(source) else source for source in args.sources]
    result = train_audio(
        sources,
        run_folder.local,
        model,
        train,
        resume=args.resume,
        threads=args.threads,
        log=lambda line: print(f"continuo: {line}", file=sys.stderr),
        on_checkpoint=run_folder.push,
    )
    last = f", loss {result.history[-1]:.4f}" if result.history else ""
    print(
        f"{args.out}: step {result.step} on {len(result.used)} recording(s){last}"
        + (f", {len(result.skipped)} skipped" if result.skipped else "")
    )
    return 0
