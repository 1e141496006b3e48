"""The training loop: AdamW, warm-up + cosine decay, clipping, early stopping, resumable, DDP.

Every epoch, every ``checkpoint_minutes`` of training (and every ``checkpoint_every`` steps) the
loop writes ``RUN/last`` with the optimizer, RNG and loop position, so ``--resume`` continues a run
killed at any moment from the batch after its last checkpoint; ``RUN/best`` keeps the weights with
the lowest validation loss. ``RUN/metrics.jsonl`` gets one line per epoch. A run that stops inside
an epoch (``max_steps``, the ``minutes`` budget, ``should_stop``) validates there too, so every run
that took a step leaves ``best``, ``last`` and ``metrics.jsonl``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from continuo.checkpoint_io import warmup_cosine
from continuo.data.dataset import CausalWindows, NextTokenWindows, TokenCorpus, piece_stream
from continuo.device import pick_device
from continuo.errors import ConfigError, ReadError
from continuo.models import ModelConfig
from continuo.models.registry import build_model
from continuo.progress import progress_bar
from continuo.training import distributed
from continuo.training.checkpoint import find_checkpoint, load_trainer_state, save_checkpoint
from continuo.training.config import TrainConfig
from continuo.training.run_config import DatasetInfo, RunConfig, read_run_config

__all__ = ["LoopState", "Trainer"]

LN2 = math.log(2)


@dataclass
class LoopState:
    """Where a run's training is; saved with every checkpoint (``trainer.json``), so that a
    resumed run goes on from the batch after it."""

    epoch: int = 0
    """Epochs finished."""
    batch: int = 0
    """Batches of the current epoch done (0 at an epoch's start)."""
    step: int = 0
    """Optimiser steps in all."""
    best: float | None = None
    """The lowest validation loss so far (training loss without a validation split)."""
    bad: int = 0
    """Whole epochs since ``best`` last improved (for ``patience``)."""
    seconds: float = 0.0
    """Wall-clock seconds of training, over every session of the run."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able state."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoopState:
        """The state saved by :meth:`to_dict` (keys an older run did not write take defaults)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


class Trainer:
    """Train one model on one prepared dataset into a run folder.

    :meth:`resume` continues from ``out/last``. ``on_step(trainer)`` is called after every
    optimiser step (for schedules of evaluation in benchmarks; it may set ``should_stop``).
    """

    def __init__(
        self,
        corpus: TokenCorpus,
        model_config: ModelConfig,
        config: TrainConfig,
        out: Path,
        *,
        progress: bool | None = None,
        on_step: Callable[[Trainer], None] | None = None,
        publish: Callable[[str], None] | None = None,
    ) -> None:
        #: The run's settings, checked together (see :class:`RunConfig`); saved with every
        #: checkpoint. ``config`` and ``model_config`` are its ``train`` and ``model``.
        self.run = RunConfig(
            model=model_config,
            codec=corpus.codec,
            train=config,
            dataset=DatasetInfo(
                fingerprint=corpus.fingerprint, path=corpus.location or str(corpus.root)
            ),
        )
        config = self.run.train  # its block_size resolved
        self.corpus, self.config, self.out = corpus, config, Path(out)
        self.model_config = model_config
        self.progress = progress
        self.on_step = on_step
        #: Called with ``"metrics.jsonl"``, ``"best"`` or ``"last"`` once that part of the run
        #: folder is written (a run in object storage publishes it: :class:`continuo.storage.Mirror`).
        self.publish = publish or (lambda part: None)
        #: Set (e.g. by ``on_step``) to end training after the current step; ``last`` is saved.
        self.should_stop = False
        self.device = pick_device(config.device)
        self.dist = distributed.setup(self.device.type)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        torch.manual_seed(config.seed + self.dist.rank)

        self.model = build_model(model_config).to(self.device)
        if config.init_from:
            self._load_initial_weights(config.init_from)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": config.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=config.lr,
        )
        self.train_stream = piece_stream(corpus, corpus.pieces("train"))
        valid = corpus.pieces("valid")
        self.valid_stream = piece_stream(corpus, valid) if valid else None
        self.shift_tables = self._shift_tables()
        self.loop = LoopState()
        self._clock = (time.monotonic(), 0.0)  # (when this session started, seconds before it)
        self._last_saved = time.monotonic()
        #: Whether the run's ``minutes`` budget is spent (training then stops after the step).
        self.out_of_time = False

    # -- public --------------------------------------------------------------------------------
    def resume(self) -> bool:
        """Load ``out/last`` if there is one; returns whether it did."""
        try:
            last = find_checkpoint(self.out, prefer="last")
        except ReadError:
            return False
        if last.name != "last" or not (last / "trainer.json").is_file():
            return False
        if read_run_config(last).dataset.fingerprint != self.corpus.fingerprint:
            raise ConfigError(f"{self.out}: was trained on another dataset; cannot resume on this")
        self.model.load_state_dict(load_file(last / "model.safetensors", device=str(self.device)))
        self.loop = LoopState.from_dict(load_trainer_state(last, self.optimizer, self.device))
        return True

    def fit(self) -> dict[str, Any]:
        """Train to the end (epochs, max_steps or early stopping); returns the last metrics."""
        cfg = self.config
        model = self.model
        if self.dist.enabled:
            ids = [self.dist.local_rank] if self.device.type == "cuda" else None
            model = DistributedDataParallel(self.model, device_ids=ids)
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        total_steps = self._total_steps()
        before = self.loop.seconds
        self._clock = (time.monotonic(), before)
        self._last_saved = time.monotonic()
        self.loop.seconds = before
        self.out_of_time = bool(cfg.minutes) and before >= cfg.minutes * 60  # a resumed run's
        metrics: dict[str, Any] = {}
        while self.loop.epoch < cfg.epochs and not self._done():
            metrics = self._train_epoch(model, total_steps)
            if self._done() and self.loop.batch != 0:
                break  # stopped inside the epoch: validated there, best and last are saved
            if cfg.patience and self.loop.bad >= cfg.patience:
                break
        self.dist.barrier()
        self.dist.close()
        return metrics

    # -- one epoch -----------------------------------------------------------------------------
    def _train_epoch(self, model: torch.nn.Module, total_steps: int) -> dict[str, Any]:
        cfg, loop = self.config, self.loop
        epoch = loop.epoch
        dataset = self._dataset(self.train_stream, epoch)
        order = torch.randperm(
            len(dataset), generator=torch.Generator().manual_seed(cfg.seed * 10_007 + epoch)
        )
        per_rank = len(order) // self.dist.world_size or len(order)
        order = order[self.dist.rank * per_rank : (self.dist.rank + 1) * per_rank]
        batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        augment = torch.Generator().manual_seed(cfg.seed * 7919 + epoch * 31 + self.dist.rank)
        # the augmentation draws of skipped batches are replayed so a resumed run matches
        for _ in range(loop.batch):
            self._draw_shift(augment)

        model.train()
        bar = progress_bar(
            total=len(batches),
            initial=loop.batch,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            unit="batch",
            enabled=False if not self.dist.is_main else self.progress,
            leave=False,
        )
        loss_sum, target_count, started = 0.0, 0, time.perf_counter()
        for b in range(loop.batch, len(batches)):
            x, y = self._collate(dataset, batches[b], self._draw_shift(augment))
            lr = self._lr(loop.step, total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with self._autocast():
                _, loss = model(x, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            count = int((y != -100).sum())
            loss_sum += float(loss.detach()) * count
            target_count += count
            loop.step += 1
            loop.batch = b + 1
            self._check_budget()
            bar.update()
            bar.set_postfix(loss=f"{loss_sum / max(1, target_count):.3f}", lr=f"{lr:.1e}")
            by_steps = cfg.checkpoint_every and loop.step % cfg.checkpoint_every == 0
            by_time = cfg.checkpoint_minutes and (
                time.monotonic() - self._last_saved >= cfg.checkpoint_minutes * 60
            )
            if (by_steps or by_time) and b + 1 < len(batches):  # the epoch's end saves anyway
                self._save_last()
            if self.on_step is not None:
                self.on_step(self)
            if self._done():
                break
        bar.close()
        seconds = time.perf_counter() - started
        # stopped inside the epoch (max_steps, minutes, should_stop): validate here all the same,
        # so that the run has best/ and metrics.jsonl; the loop stays at this batch for a resume
        partial = loop.batch < len(batches)

        train_loss_sum, train_count = self.dist.all_sum(loss_sum, target_count)
        valid_loss, valid_accuracy = self._validate()
        train_loss = train_loss_sum / max(1, train_count)
        score = valid_loss if valid_loss is not None else train_loss
        improved = loop.best is None or score < loop.best
        loop.best = score if improved else loop.best
        if improved:
            loop.bad = 0
        elif not partial:  # patience counts whole epochs
            loop.bad += 1
        if not partial:
            loop.epoch, loop.batch = epoch + 1, 0
        metrics = {
            "epoch": epoch + 1,
            "partial": partial,
            "step": loop.step,
            "train_loss": train_loss,
            "train_bits_per_token": train_loss / LN2,
            "valid_loss": valid_loss,
            "valid_bits_per_token": None if valid_loss is None else valid_loss / LN2,
            "valid_accuracy": valid_accuracy,
            "tokens_per_second": train_count / max(seconds, 1e-9),
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
        }
        if self.dist.is_main:
            with open(self.out / "metrics.jsonl", "a") as log:
                log.write(json.dumps(metrics) + "\n")
            self.publish("metrics.jsonl")
            if improved:
                save_checkpoint(
                    self.out / "best",
                    self.model,
                    self.run.replace(metrics=metrics),
                    loop=loop.to_dict(),
                )
                self.publish("best")
            self._save_last(metrics)
            valid = "-" if valid_loss is None else f"{valid_loss / LN2:.3f}"
            where = f" (stopped at batch {loop.batch}/{len(batches)})" if partial else ""
            tqdm.write(
                f"epoch {epoch + 1}{where}: train {train_loss / LN2:.3f} bits/token, valid {valid}"
                f"{' (best)' if improved else ''}, {metrics['tokens_per_second']:,.0f} tokens/s"
            )
        self.dist.barrier()
        return metrics

    @torch.no_grad()
    def _validate(self) -> tuple[float | None, float | None]:
        """Validation loss and accuracy; each rank scores its share, unwrapped (no collectives)."""
        if self.valid_stream is None:
            return None, None
        model = self.model
        model.eval()
        dataset = self._dataset(self.valid_stream, epoch=None)
        indices = torch.arange(self.dist.rank, len(dataset), self.dist.world_size)
        loss_sum, correct, count = 0.0, 0.0, 0.0
        for start in range(0, len(indices), self.config.batch_size):
            x, y = self._collate(dataset, indices[start : start + self.config.batch_size], 0)
            with self._autocast():
                logits, loss = model(x, y)
            mask = y != -100
            loss_sum += float(loss) * int(mask.sum())
            correct += int((logits.argmax(-1) == y)[mask].sum())
            count += int(mask.sum())
        model.train()
        loss_sum, correct, count = self.dist.all_sum(loss_sum, correct, count)
        return loss_sum / max(1, count), correct / max(1, count)

    # -- helpers -------------------------------------------------------------------------------
    def _load_initial_weights(self, name_or_path: str) -> None:
        """Fine-tuning: the weights of another checkpoint with the same codec and model."""
        folder = find_checkpoint(name_or_path)
        saved = read_run_config(folder)
        if saved.codec.to_dict() != self.corpus.codec.to_dict():
            raise ConfigError(f"{folder}: --init-from needs a model of this dataset's codec")
        if saved.model != self.model_config:
            raise ConfigError(f"{folder}: --init-from needs the same model settings as this run")
        self.model.load_state_dict(load_file(folder / "model.safetensors", device=str(self.device)))

    def _dataset(self, stream: np.ndarray, epoch: int | None):
        cfg = self.config
        if cfg.objective == "window":
            stride = cfg.window_stride if epoch is not None else max(1, cfg.block_size // 4)
            return NextTokenWindows(stream, cfg.block_size, stride)
        offset = 0 if epoch is None else (epoch * 7919) % cfg.block_size
        return CausalWindows(stream, cfg.block_size, offset)

    def _collate(self, dataset, indices: torch.Tensor, shift: int):
        xs, ys = zip(*(dataset[int(i)] for i in indices), strict=True)
        x, y = torch.stack(xs), torch.stack(ys)
        if shift and shift in self.shift_tables:
            table = self.shift_tables[shift]
            shifted_x, shifted_y = table[x], torch.where(y >= 0, table[y.clamp(min=0)], y)
            ok = (shifted_x >= 0).all(1) & ((shifted_y >= 0) | (y == -100)).all(1)
            x = torch.where(ok[:, None], shifted_x, x)
            y = torch.where(ok[:, None], shifted_y, y)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def _shift_tables(self) -> dict[int, torch.Tensor]:
        tables = {}
        for shift in range(-self.config.transpose_range, self.config.transpose_range + 1):
            table = self.corpus.codec.pitch_shift_table(shift) if shift else None
            if table is not None:
                tables[shift] = torch.as_tensor(table, dtype=torch.long)
        if self.config.transpose_range and not tables:
            raise ConfigError(
                f"codec {self.corpus.codec.name!r} cannot transpose tokens; use --transpose-range 0"
            )
        return tables

    def _draw_shift(self, generator: torch.Generator) -> int:
        span = self.config.transpose_range
        if not span:
            return 0
        return int(torch.randint(-span, span + 1, (1,), generator=generator))

    def _lr(self, step: int, total: int) -> float:
        cfg = self.config
        # a time budget: decay over it when it ends before the steps do
        done = self.loop.seconds / (cfg.minutes * 60) if cfg.minutes else 0.0
        return warmup_cosine(step, total, cfg.lr, cfg.min_lr, cfg.warmup_steps, done=done)

    def _total_steps(self) -> int:
        cfg = self.config
        per_epoch = math.ceil(
            len(self._dataset(self.train_stream, 0)) / self.dist.world_size / cfg.batch_size
        )
        total = per_epoch * cfg.epochs
        return min(total, cfg.max_steps) if cfg.max_steps else total

    def _done(self) -> bool:
        cfg = self.config
        return (
            self.should_stop
            or self.out_of_time
            or (bool(cfg.max_steps) and self.loop.step >= cfg.max_steps)
        )

    def _check_budget(self) -> None:
        """Update the training time of the run and whether its ``minutes`` budget is spent.

        Under DDP the processes agree (on the mean of their clocks), so that they stop at the
        same step and set the same learning rate.
        """
        started, before = self._clock
        seconds = before + time.monotonic() - started
        minutes = self.config.minutes
        if minutes and self.dist.enabled:
            (total,) = self.dist.all_sum(seconds)
            seconds = total / self.dist.world_size
        self.loop.seconds = seconds
        self.out_of_time = bool(minutes) and seconds >= minutes * 60

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _save_last(self, metrics: dict[str, Any] | None = None) -> None:
        self._last_saved = time.monotonic()
        if self.dist.is_main:
            save_checkpoint(
                self.out / "last",
                self.model,
                self.run.replace(metrics=metrics or {}),
                loop=self.loop.to_dict(),
                optimizer=self.optimizer,
            )
            self.publish("last")
