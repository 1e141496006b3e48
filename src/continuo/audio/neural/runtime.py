"""How many threads torch may use while training or generating.

The audio models run GRUs over small batches and vocode with many small FFTs: per-op work is too
small for intra-op threads to pay off, and when the cores are shared with other work OpenMP's
spinning threads make it far worse (measured on this 2-core box under load: a training step took
0.12 s on one thread and 1.18 s on two). The default is therefore one thread; ``--threads`` changes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["DEFAULT_THREADS", "torch_threads"]

DEFAULT_THREADS = 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` (unchanged when ``n`` is None or < 1)."""
    before = torch.get_num_threads()
    if n is not None and n >= 1:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
