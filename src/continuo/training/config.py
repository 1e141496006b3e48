"""Training settings: one dataclass, saved with every checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OBJECTIVES", "TrainConfig"]

OBJECTIVES = ("causal", "window")


@dataclass
class TrainConfig:
    """How a model is trained. Every field can be set with ``continuo train --field value``."""

    objective: str = "causal"
    """``causal``: predict every next token of every piece. ``window``: the seeds' objective,
    one target (the token after a window of ``block_size`` tokens) per window."""
    block_size: int = 0
    """Tokens per training window (the seeds used 64 for melodies, 100 for MIDI); 0: the
    model's own context length (``block_size`` of its config), or 256 for recurrent models."""
    window_stride: int = 1
    """With ``objective=window``: positions between window starts (1 in the seeds)."""
    batch_size: int = 8
    """Windows per optimiser step. Small batches learn a melody corpus fastest and best on a
    CPU (benchmarks/RESULTS.md, issue 3b: 8 against 32 on deutschl/erk reached the seeds' best
    loss sooner and a lower best loss); on a GPU raise it (64 or more) to keep the device busy."""
    epochs: int = 20
    max_steps: int = 0
    """Stop after this many optimiser steps in all (0: no limit)."""
    lr: float = 3e-3
    min_lr: float = 1e-4
    warmup_steps: int = 20
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    patience: int = 5
    """Stop when the validation loss has not improved for this many epochs (0: never)."""
    seed: int = 0
    checkpoint_every: int = 0
    """Also write ``last`` every this many steps (0: only at the end of each epoch)."""
    transpose_range: int = 0
    """Augmentation: shift each training window by a random -N..N semitones (codec permitting)."""
    init_from: str = ""
    """Start from the weights of this checkpoint (a run folder, or a bundled model's name such
    as ``folk``) instead of random ones: fine-tuning. Its model settings are used."""
    device: str = "auto"
    """``auto`` (cuda, then mps, then cpu), or any torch device string."""
