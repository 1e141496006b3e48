"""Choosing the torch device: one rule for training, generation and evaluation."""

from __future__ import annotations

import torch

from continuo.errors import ConfigError

__all__ = ["pick_device"]


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` (cuda, then mps, then cpu) or a torch device string that this machine has.

    Raises :class:`ConfigError` in one line for a name torch does not know, or for a device this
    machine lacks (``cuda`` without a CUDA GPU, ``cuda:3`` with two, ``mps`` off Apple silicon),
    before anything is loaded onto it.
    """
    if name != "auto":
        try:
            device = torch.device(name)
        except (RuntimeError, TypeError, ValueError):
            raise ConfigError(
                f"--device {name!r} is not a device (use auto, cpu, cuda, cuda:N or mps)"
            ) from None
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise ConfigError(
                    f"--device {name}: CUDA is not available on this machine "
                    f"(torch {torch.__version__}); use --device cpu or auto"
                )
            count = torch.cuda.device_count()
            if device.index is not None and device.index >= count:
                raise ConfigError(
                    f"--device {name}: this machine has {count} CUDA device(s), "
                    f"cuda:0 to cuda:{count - 1}"
                )
        elif device.type == "mps":
            mps = getattr(torch.backends, "mps", None)
            if not (mps and mps.is_available()):
                raise ConfigError(
                    f"--device {name}: MPS is not available on this machine; use --device cpu "
                    "or auto"
                )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
