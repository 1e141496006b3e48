"""Benchmark: JSB chorales, frame-level negative log-likelihood in nats per frame.

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/jsb_chorales.py [--epochs 30]

Protocol of the piano-roll literature (Boulanger-Lewandowski, Bengio & Vincent 2012): the
chorales of Boulanger-Lewandowski's split (229 train / 76 valid / 77 test) at quarter-note
frames (``jsb-chorales-quarter.json``), each frame a set of pitches among 88 piano keys; the
figure is the test set's total negative log-likelihood over its total number of frames, each
frame predicted from the frames before it in its chorale (4,725 test frames).

Two models, trained here in one run on the same frames:

- **baseline** - the MusicNet seed's method: a plain piano-roll GRU with 88 independent sigmoid
  outputs, ``-log p(frame) = sum_k BCE(y_k, sigmoid(z_k))``, input the frame before
  (zeros at the start). Hidden size, transposition augmentation and epoch chosen on the
  validation split.
- **continuo** - a continuo token model (default: ``lstm``, preset ``small``, the best of those
  tried, see ``RESULTS-polyphony.md``) over the ``pianoroll`` codec (``steps_per_quarter=1``):
  a frame is its pitches in ascending order, then ``|``, so ``p(frame) = prod`` over its tokens
  and ``-log p(frame)`` is the sum of those tokens' NLLs, ``|`` included (exact: the
  serialisation is one-to-one). Trained with continuo's :class:`~continuo.training.trainer.
  Trainer` (transposition augmentation, early stopping); the best checkpoint is scored. The
  ``constrained`` figure renormalises each token's distribution over the tokens the
  serialisation allows there (a pitch above the frame's last one, or ``|``; never the piece
  separator, since the number of frames is given, as it is to the baseline): still an exact
  distribution over frames, and never worse.

Prints a JSON summary, and with ``--markdown`` a table for ``RESULTS-polyphony.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "jsb_chorales" / "jsb-chorales-quarter.json"
SPLITS = ("train", "valid", "test")


def load_frames(path: Path) -> dict[str, list[np.ndarray]]:
    """Each split's chorales as bool frames ``(T, 88)`` read by continuo (JSB reader + pianoroll
    codec at one frame per quarter), checked against the JSON's own frames."""
    from continuo.codecs import get_codec
    from continuo.io.jsb import read_jsb_chorales

    codec = get_codec("pianoroll", steps_per_quarter=1)
    raw = json.loads(path.read_text())
    frames: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for piece in read_jsb_chorales(path):
        split, index = piece.name.rsplit("#", 1)[1].split("/")
        roll = codec.to_frames(piece.score)
        expected = np.zeros((len(raw[split][int(index)]), 88), dtype=bool)
        for t, step in enumerate(raw[split][int(index)]):
            expected[t, np.asarray(step, dtype=np.int64) - 21] = True
        if roll.shape != expected.shape or not (roll == expected).all():
            raise AssertionError(f"{piece.name}: continuo's frames differ from the JSON's")
        frames[split].append(roll)
    return frames


# -- the baseline: a piano-roll GRU with independent sigmoid outputs ------------------------------
class SigmoidGRU(nn.Module):
    """``z_t = W h_t + b``, ``h_t = GRU(frame_{t-1}, h_{t-1})``: logits of the 88 keys of frame t."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.gru = nn.GRU(88, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, 88)

    def forward(self, previous: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(self.gru(previous)[0]))


def _batch(rolls: list[np.ndarray], shift: int = 0) -> tuple[torch.Tensor, ...]:
    """Inputs (frames moved one step later), targets and mask, padded: ``(B, T, 88)``, mask
    ``(B, T)``. ``shift`` transposes (the pitches all stay inside 21..108 for |shift| <= 12)."""
    length = max(len(r) for r in rolls)
    y = torch.zeros(len(rolls), length, 88)
    mask = torch.zeros(len(rolls), length)
    for i, roll in enumerate(rolls):
        y[i, : len(roll)] = torch.from_numpy(np.roll(roll, shift, axis=1).astype(np.float32))
        mask[i, : len(roll)] = 1
    x = torch.cat([torch.zeros(len(rolls), 1, 88), y[:, :-1]], dim=1)
    return x, y, mask


@torch.no_grad()
def baseline_nll(model: SigmoidGRU, rolls: list[np.ndarray]) -> float:
    """Total NLL over total frames, nats per frame."""
    model.eval()
    x, y, mask = _batch(rolls)
    loss = nn.functional.binary_cross_entropy_with_logits(model(x), y, reduction="none")
    return float((loss.sum(-1) * mask).sum() / mask.sum())


def train_baseline(
    frames: dict[str, list[np.ndarray]],
    hidden: int,
    augment: int,
    epochs: int,
    seed: int,
    patience: int = 10,
) -> tuple[float, float, int, float]:
    """Train with Adam, keep the epoch with the best validation NLL (stop after ``patience``
    epochs without a better one).
    Returns ``(valid NLL, test NLL at that epoch, epoch, seconds)``."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SigmoidGRU(hidden, dropout=0.3)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    best = (math.inf, math.inf, 0)
    started = time.perf_counter()
    train = frames["train"]
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(train))
        for start in range(0, len(order), 16):
            shift = int(rng.integers(-augment, augment + 1)) if augment else 0
            x, y, mask = _batch([train[i] for i in order[start : start + 16]], shift)
            loss = nn.functional.binary_cross_entropy_with_logits(model(x), y, reduction="none")
            loss = (loss.sum(-1) * mask).sum() / mask.sum()
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
        valid = baseline_nll(model, frames["valid"])
        if valid < best[0]:
            best = (valid, baseline_nll(model, frames["test"]), epoch)
        elif epoch - best[2] >= patience:
            break
        if epoch % 10 == 0:
            print(f"baseline GRU({hidden}) epoch {epoch}: valid {valid:.3f}", file=sys.stderr)
    return best[0], best[1], best[2], time.perf_counter() - started


# -- continuo: a token model over the pianoroll codec ---------------------------------------------
def write_dataset(frames: dict[str, list[np.ndarray]], out: Path) -> Path:
    """A continuo dataset (``tokens.npy`` + ``manifest.json``) with the official split."""
    from continuo.codecs import get_codec
    from continuo.data.build import MANIFEST_VERSION

    codec = get_codec("pianoroll", steps_per_quarter=1)
    pieces, arrays, offset = [], [], 0
    for split in SPLITS:
        for index, roll in enumerate(frames[split]):
            ids = np.asarray(codec.frames_to_ids(roll), dtype=np.uint16)
            entry = {"name": f"jsb#{split}/{index}", "offset": offset, "length": len(ids)}
            pieces.append({**entry, "split": split, "fold": 0})
            arrays.append(ids)
            offset += len(ids)
    tokens = np.concatenate(arrays)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "tokens.npy", tokens)
    manifest = {
        "format": "continuo-dataset",
        "version": MANIFEST_VERSION,
        "codec": codec.to_dict(),
        "dtype": "uint16",
        "tokens": len(tokens),
        "fingerprint": hashlib.blake2b(tokens.tobytes(), digest_size=16).hexdigest(),
        "sources": ["jsb-chorales-quarter.json (Boulanger-Lewandowski split)"],
        "pieces": pieces,
        "skipped": [],
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@torch.no_grad()
def token_frame_nll(model, codec, pieces: list[np.ndarray], context: int) -> tuple[float, float]:
    """Nats per frame of the pieces (ids without separators), plain and constrained.

    Each piece is read as ``/ ids`` in windows of ``context`` tokens advancing by half a
    context; every token of ``ids`` is scored once, with at least half a context before it
    (all of it near the start). The piece's closing separator is not scored.
    """
    model.eval()
    sep, end = codec.separator_id, codec.frame_end_id
    total = constrained = 0.0
    frames = 0
    for ids in pieces:
        seq = torch.as_tensor(np.concatenate([[sep], ids]), dtype=torch.long)
        # the last pitch id written in the current frame before each target (1 = none yet)
        last = np.ones(len(ids), dtype=np.int64)
        current = 1
        for k, token in enumerate(ids):
            last[k] = current
            current = 1 if token == end else int(token)
        last = torch.as_tensor(last)
        stride, scored = max(1, context // 2), 0
        for start in range(0, len(ids), stride):
            stop = min(start + context, len(ids))
            logits = model(seq[start:stop][None])[0][0].double()
            targets = seq[start + 1 : stop + 1]
            fresh = slice(scored - start, stop - start)
            logp = torch.log_softmax(logits, -1)
            total -= float(logp[fresh].gather(1, targets[fresh, None]).sum())
            vocab = torch.arange(logits.shape[-1])
            allowed = (vocab[None, :] > last[start:stop, None]) | (vocab[None, :] == end)
            masked = torch.log_softmax(logits.masked_fill(~allowed, -math.inf), -1)
            constrained -= float(masked[fresh].gather(1, targets[fresh, None]).sum())
            scored = stop
            if stop == len(ids):
                break
        frames += int((np.asarray(ids) == end).sum())
    return total / frames, constrained / frames


def train_token_model(dataset: Path, run: Path, args: argparse.Namespace) -> dict:
    from continuo.cli.options import parse_key_values
    from continuo.data.dataset import TokenCorpus
    from continuo.models import model_class, model_config
    from continuo.training.checkpoint import load_checkpoint
    from continuo.training.config import TrainConfig
    from continuo.training.trainer import Trainer

    corpus = TokenCorpus.open(dataset)
    fields = {f.name for f in dataclasses.fields(model_class(args.model).config_class)}
    overrides = {"dropout": args.dropout, **parse_key_values(args.set, "--set")}
    if "block_size" in fields:
        overrides["block_size"] = args.block_size
    config = model_config(args.model, args.preset, vocab_size=corpus.codec.vocab_size, **overrides)
    train = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, block_size=args.block_size, lr=args.lr,
        warmup_steps=args.warmup_steps, patience=args.patience,
        transpose_range=args.transpose_range, seed=args.seed, device="cpu",
    )  # fmt: skip
    started = time.perf_counter()
    trainer = Trainer(corpus, config, train, run, progress=False)
    trainer.fit()
    seconds = time.perf_counter() - started
    model, codec, saved = load_checkpoint(run, prefer="best")
    test = [corpus.piece_ids(p) for p in corpus.pieces("test")]
    valid = [corpus.piece_ids(p) for p in corpus.pieces("valid")]
    test_nll, test_constrained = token_frame_nll(model, codec, test, args.block_size)
    valid_nll, _ = token_frame_nll(model, codec, valid, args.block_size)
    return {
        "model": f"{args.model} ({args.preset}, {config}, lr {args.lr}, batch "
        f"{args.batch_size}x{args.block_size}, transpose ±{args.transpose_range})",
        "parameters": model.num_parameters(),
        "epochs_run": trainer.loop.epoch,
        "best_epoch_valid_bits_per_token": saved.metrics.get("valid_bits_per_token"),
        "valid_nll": valid_nll,
        "test_nll": test_nll,
        "test_nll_constrained": test_constrained,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="model option")
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup-steps", type=int, default=30)
    parser.add_argument("--only", choices=("baseline", "continuo"), help="run one side only")
    parser.add_argument("--transpose-range", type=int, default=6)
    parser.add_argument("--baseline-hidden", default="128,256")
    parser.add_argument("--baseline-epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="keep the dataset and run here")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    frames = load_frames(args.data)
    counts = {s: (len(frames[s]), sum(len(r) for r in frames[s])) for s in SPLITS}

    baselines = []
    for hidden in map(int, args.baseline_hidden.split(",") if args.only != "continuo" else []):
        for augment in (0, args.transpose_range):
            valid, test, epoch, seconds = train_baseline(
                frames, hidden, augment, args.baseline_epochs, args.seed
            )
            baselines.append({"hidden": hidden, "transpose_range": augment, "valid_nll": valid,
                              "test_nll": test, "epoch": epoch, "seconds": seconds})  # fmt: skip
            print(json.dumps(baselines[-1]), file=sys.stderr, flush=True)
    baseline = min(baselines, key=lambda b: b["valid_nll"]) if baselines else None

    token = None
    if args.only != "baseline":
        with tempfile.TemporaryDirectory() as tmp:
            root = args.out or Path(tmp)
            dataset = write_dataset(frames, root / "jsb-quarter")
            token = train_token_model(dataset, root / "run", args)
        print(json.dumps(token), file=sys.stderr, flush=True)

    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "frames": counts,
        "baseline": baseline,
        "baselines": baselines,
        "continuo": token,
        "improvement_nats_per_frame": (
            baseline["test_nll"] - token["test_nll"] if baseline and token else None
        ),
    }
    print(json.dumps(summary, indent=2))
    if args.markdown and baseline and token:
        print(
            f"\n| model | valid NLL | test NLL (nats/frame) |\n|---|---|---|\n"
            f"| baseline GRU({baseline['hidden']}), sigmoid outputs | "
            f"{baseline['valid_nll']:.3f} | {baseline['test_nll']:.3f} |\n"
            f"| continuo {token['model']} | {token['valid_nll']:.3f} | {token['test_nll']:.3f} "
            f"(constrained {token['test_nll_constrained']:.3f}) |"
        )


if __name__ == "__main__":
    main()
