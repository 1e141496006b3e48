"""Benchmark: training time to reach the seeds' best validation loss (same machine, same split).

    python benchmarks/time_to_quality.py [--data ../shared/data/essen_kern/deutschl/erk]
                                         [--seed-budget 900] [--eval-every 60]
                                         [--our-eval-every 5] [--target BITS]
                                         [--model NAME] [--set KEY=VALUE ...]

The seeds' method (Velardo's folk-melody LSTM): the 16th-note melody series, a window of 64
symbols, one LSTM(256), and one target per window (the symbol after it), every window of every
song. continuo's default: the causal objective (every next symbol of every song) with the default
model (`attention_lstm`, small preset). Both train on the same pieces of deutschl/erk (split by
continuo prepare) and are scored the same way on the same validation songs: bits per token of
every symbol given the ones before it (the window model sees the 64 before it, as it was
trained; see continuo.evaluation.likelihood).

The seeds trained for 90 epochs (about 9 hours on this CPU); here their method gets
``--seed-budget`` seconds of training, and its best validation figure in that budget is the
target. Training time excludes the evaluations, which run every ``--eval-every`` seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import torch

from continuo.cli.options import parse_key_values
from continuo.codecs import get_codec
from continuo.data.build import prepare_corpus
from continuo.data.dataset import TokenCorpus
from continuo.evaluation.likelihood import evaluate_likelihood
from continuo.models import model_config
from continuo.models.configs import DEFAULT_MODEL
from continuo.training.config import TrainConfig
from continuo.training.run_config import DEFAULT_BLOCK_SIZE
from continuo.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
ERK = REPO.parent / "shared" / "data" / "essen_kern" / "deutschl" / "erk"


class Clock:
    """Training time with evaluations paused; stops a run at a budget or at a target."""

    def __init__(self, corpus, every: float, budget: float, context: int, window: bool,
                 target: float | None = None) -> None:  # fmt: skip
        self.corpus, self.every, self.budget, self.context = corpus, every, budget, context
        self.window, self.target = window, target
        self.pieces = [corpus.piece_ids(p) for p in corpus.pieces("valid")]
        self.trained, self.last, self.curve = 0.0, time.perf_counter(), []
        self.next_eval = every

    def __call__(self, trainer: Trainer) -> None:
        now = time.perf_counter()
        self.trained += now - self.last
        if self.trained >= self.next_eval or self.trained >= self.budget:
            self.next_eval += self.every
            bits = evaluate_likelihood(trainer.model, self.corpus.codec, self.pieces,
                                       context=self.context, window_objective=self.window,
                                       batch_size=256).bits_per_token  # fmt: skip
            trainer.model.train()
            self.curve.append((self.trained, bits))
            print(f"  {self.trained:7.1f} s: {bits:.4f} bits/token", flush=True)
            if self.trained >= self.budget or (self.target is not None and bits <= self.target):
                trainer.should_stop = True
        self.last = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ERK)
    parser.add_argument("--seed-budget", type=float, default=900.0, metavar="SECONDS")
    parser.add_argument("--eval-every", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="continuo's budget")
    parser.add_argument(
        "--our-eval-every", type=float, metavar="SECONDS",
        help="continuo's evaluation interval (default: a twelfth of --eval-every)",
    )  # fmt: skip
    parser.add_argument(
        "--target", type=float, help="skip the seeds' run: their best bits/token, measured before"
    )
    parser.add_argument("--model", default="", help="try another model than the default")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override one of continuo's training or model settings (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepare_corpus([str(args.data)], get_codec("melody"), tmp / "erk", cache_dir=None)
        corpus = TokenCorpus.open(tmp / "erk")
        vocab = corpus.codec.vocab_size

        seed_clock = Clock(corpus, args.eval_every, args.seed_budget, 64, window=True)
        if args.target is None:
            print("the seeds' method: LSTM(256), window 64, one target per window")
            seed_model = model_config("lstm", vocab_size=vocab, n_embd=64, hidden_size=256,
                                      n_layer=1, dropout=0.2)  # fmt: skip
            seed_train = TrainConfig(objective="window", block_size=64, batch_size=64, lr=1e-3,
                                     min_lr=1e-3, warmup_steps=0, epochs=1000, patience=0)  # fmt: skip
            Trainer(corpus, seed_model, seed_train, tmp / "seed", progress=False,
                    on_step=seed_clock).fit()  # fmt: skip
        else:
            seed_clock.curve = [(args.seed_budget, args.target)]
        target = min(bits for _, bits in seed_clock.curve)

        print(f"continuo's default until {target:.4f} bits/token")
        settings = parse_key_values(args.set, "--set")
        train_keys = {field.name for field in fields(TrainConfig)}
        model_settings = {k: v for k, v in settings.items() if k not in train_keys}
        train_settings = {k: v for k, v in settings.items() if k in train_keys}
        ours = model_config(args.model or DEFAULT_MODEL, "small", vocab_size=vocab,
                            **model_settings)  # fmt: skip
        context = getattr(ours, "block_size", DEFAULT_BLOCK_SIZE)
        every = args.our_eval_every or args.eval_every / 12
        clock = Clock(corpus, every, args.max_seconds, context, window=False,
                      target=target)  # fmt: skip
        Trainer(corpus, ours, TrainConfig(patience=0, **train_settings), tmp / "ours",
                progress=False, on_step=clock).fit()  # fmt: skip

    reached = next((t for t, bits in clock.curve if bits <= target), None)
    seed_time = next(t for t, bits in seed_clock.curve if bits == target)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {len(corpus.pieces('train'))} training songs, "
          f"{len(corpus.pieces('valid'))} validation songs")  # fmt: skip
    print()
    print("| method | best valid bits/token | training time to reach it (s) |")
    print("|---|---|---|")
    print(f"| seeds' LSTM(256), window objective, {args.seed_budget:.0f} s budget | {target:.4f} "
          f"| {seed_time:.0f} |")  # fmt: skip
    best = min(bits for _, bits in clock.curve)
    shown = f"{reached:.0f}" if reached is not None else f"not within {args.max_seconds:.0f}"
    changes = "".join(f", {item}" for item in args.set)
    default = "" if args.model or changes else " default"
    label = f"continuo{default} ({ours.name} small, causal{changes})"
    print(f"| {label} | {best:.4f} | {shown} |")
    if reached:
        print(f"\nspeed-up to the seeds' best: {seed_time / reached:.1f}x")


if __name__ == "__main__":
    main()
