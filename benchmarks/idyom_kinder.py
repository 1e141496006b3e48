"""Benchmark: IDyOM's protocol on Essen `deutschl/kinder`, bits per note, 10-fold cross-validation.

    python benchmarks/idyom_kinder.py [--pretrained folk] [--folds 10] [--scratch-epochs 15]

Protocol (Pearce 2005, thesis, Table 6.6: IDyOM 2.106 bits per note): the pitch of each note
of the 213 kinder melodies (8,393 notes) is predicted from the notes before it; rests are not
events; 10 folds, each melody in the test set of exactly one fold. continuo's unit is the same:
-log2 of the model's probability of the pitch given that a note starts there (see
continuo.evaluation.likelihood), summed over every note of every test fold, divided by the
notes. Folds come from the dataset manifest (a hash of each song's name).

Variants, each scored on the same folds:
- scratch: a model trained only on the other 9 folds of kinder;
- pretrained: the bundled `folk` model, trained on the other 5,152 deutschl songs (never on
  kinder), with no fine-tuning;
- fine-tuned: `folk` fine-tuned on the other 9 folds;
- ensemble: the mean of the scratch and fine-tuned models' probabilities.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch

from continuo.codecs import get_codec
from continuo.data.build import prepare_corpus
from continuo.data.dataset import TokenCorpus
from continuo.evaluation.likelihood import Likelihood, evaluate_likelihood
from continuo.models import model_config
from continuo.pretrained import resolve_model
from continuo.training.checkpoint import load_checkpoint
from continuo.training.config import TrainConfig
from continuo.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
KINDER = REPO.parent / "shared" / "data" / "essen_kern" / "deutschl" / "kinder"
IDYOM = 2.106


class MeanOfModels(torch.nn.Module):
    """An ensemble: log of the mean of its members' next-token probabilities."""

    causal = True

    def __init__(self, *models: torch.nn.Module) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(models)

    def forward(self, idx: torch.Tensor, targets=None):
        log_probs = torch.stack([torch.log_softmax(m(idx)[0].float(), -1) for m in self.members])
        return torch.logsumexp(log_probs, 0) - math.log(len(self.members)), None


def fold_dataset(source: Path, out: Path, test_fold: int) -> TokenCorpus:
    """The kinder dataset with fold ``test_fold`` as the test split and the rest as train."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((source / "manifest.json").read_text())
    for piece in manifest["pieces"]:
        piece["split"] = "test" if piece["fold"] == test_fold else "train"
    manifest["fingerprint"] += f"-fold{test_fold}"
    (out / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy(source / "tokens.npy", out / "tokens.npy")
    return TokenCorpus.open(out)


def score(model, corpus: TokenCorpus, context: int) -> Likelihood:
    pieces = [corpus.piece_ids(p) for p in corpus.pieces("test")]
    return evaluate_likelihood(model, corpus.codec, pieces, context=context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=KINDER)
    parser.add_argument("--pretrained", default="folk")
    parser.add_argument("--folds", type=int, default=10, help="how many of the 10 folds to run")
    parser.add_argument("--model", default="attention_lstm")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--scratch-epochs", type=int, default=15)
    parser.add_argument("--tune-epochs", type=int, default=3)
    parser.add_argument("--tune-lr", type=float, default=3e-4)
    args = parser.parse_args()

    started = time.perf_counter()
    totals = {name: Likelihood() for name in ("scratch", "pretrained", "fine-tuned", "ensemble")}
    pretrained, _, pretrained_config = load_checkpoint(resolve_model(args.pretrained))
    context = pretrained_config.context
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        summary = prepare_corpus([str(args.data)], get_codec("melody"), tmp / "kinder",
                                 valid_fraction=0, test_fraction=0, cache_dir=None)  # fmt: skip
        for k in range(args.folds):
            corpus = fold_dataset(tmp / "kinder", tmp / f"fold{k}", k)
            vocab = corpus.codec.vocab_size
            scratch_run, tuned_run = tmp / f"scratch{k}", tmp / f"tuned{k}"
            Trainer(corpus, model_config(args.model, args.preset, vocab_size=vocab),
                    TrainConfig(epochs=args.scratch_epochs, batch_size=16, block_size=context,
                                lr=3e-3, warmup_steps=20, patience=0, seed=k),
                    scratch_run, progress=False).fit()  # fmt: skip
            Trainer(corpus, pretrained.config,
                    TrainConfig(epochs=args.tune_epochs, batch_size=16, block_size=context,
                                lr=args.tune_lr, min_lr=args.tune_lr / 10, warmup_steps=10,
                                patience=0, seed=k, init_from=str(resolve_model(args.pretrained))),
                    tuned_run, progress=False).fit()  # fmt: skip
            scratch = load_checkpoint(scratch_run, prefer="last")[0]
            tuned = load_checkpoint(tuned_run, prefer="last")[0]
            models = {"scratch": scratch, "pretrained": pretrained, "fine-tuned": tuned,
                      "ensemble": MeanOfModels(scratch, tuned)}  # fmt: skip
            line = []
            for name, model in models.items():
                fold = score(model, corpus, context)
                total = totals[name]
                total.notes += fold.notes
                total.note_nats += fold.note_nats
                total.tokens += fold.tokens
                total.nats += fold.nats
                line.append(f"{name} {fold.bits_per_note:.3f}")
            print(f"fold {k}: {fold.notes} notes; " + ", ".join(line), flush=True)

    minutes = (time.perf_counter() - started) / 60
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {summary.pieces} melodies; "
          f"{args.folds} folds in {minutes:.0f} min")  # fmt: skip
    print()
    print("| model (kinder, 10-fold CV) | bits per note | notes | vs IDyOM 2.106 |")
    print("|---|---|---|---|")
    for name, total in totals.items():
        bits = total.bits_per_note
        print(f"| {name} | {bits:.3f} | {total.notes:,} | {bits - IDYOM:+.3f} |")


if __name__ == "__main__":
    main()
