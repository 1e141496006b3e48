"""Training settings: one dataclass, saved with every checkpoint, checked when it is made."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from continuo.errors import ConfigError
from continuo.settings import convert_fields, flag

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
    """Also write ``last`` every this many steps (0: not by steps)."""
    checkpoint_minutes: float = 5.0
    """Also write ``last`` every this many minutes of training, so that a killed run loses
    minutes, not an epoch (0: not by time). ``last`` is always written at each epoch's end."""
    minutes: float = 0.0
    """Wall-clock budget of the run, in minutes (0: no limit). When it is spent, training stops
    after the current step, validates, and writes ``best`` and ``last``; the learning rate
    decays over the budget or the steps, whichever ends first. A resumed run counts the time
    already spent."""
    transpose_range: int = 0
    """Augmentation: shift each training window by a random -N..N semitones (codec permitting)."""
    init_from: str = ""
    """Start from the weights of this checkpoint (a run folder, or a bundled model's name such
    as ``folk``) instead of random ones: fine-tuning. Its model settings are used."""
    device: str = "auto"
    """``auto`` (cuda, then mps, then cpu), or any torch device string."""

    def __post_init__(self) -> None:
        """Convert every value to its field's type (text from the command line too) and refuse
        impossible ones, each with a :class:`ConfigError` naming the setting."""
        convert_fields(self)
        for name, least in _MINIMUM.items():
            value = getattr(self, name)
            if value < least:
                raise ConfigError(f"setting {flag(name)} must be at least {least}, not {value!r}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(
                f"setting --objective must be {' or '.join(OBJECTIVES)}, not {self.objective!r}"
            )


#: The least value of each numeric setting; ``seed`` may be anything.
_MINIMUM = {
    field.name: {"window_stride": 1, "batch_size": 1, "epochs": 1}.get(field.name, 0)
    for field in dataclasses.fields(TrainConfig)
    if field.type in ("int", "float") and field.name != "seed"
}
