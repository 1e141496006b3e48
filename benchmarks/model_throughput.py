"""Benchmark: training throughput (tokens/s) of every model, `small` preset, on this machine.

    python benchmarks/model_throughput.py [--batch 32] [--length 256] [--device cpu|cuda]

One training step is forward + backward + AdamW update on a batch of random token ids
(vocabulary 131, the melody codec's). Best of 5 steps after 2 warm-up steps, at 1 thread and at
all threads (CPU), or on the GPU with bf16 autocast.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from contextlib import nullcontext

import torch

from continuo.models import MODELS, build_model, model_config


def tokens_per_second(name: str, batch: int, length: int, device: str) -> float:
    model = build_model(model_config(name, "small", vocab_size=131)).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    idx = torch.randint(0, 131, (batch, length), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else nullcontext()

    def step() -> None:
        with autocast:
            _, loss = model(idx, idx)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step(), step()
    best = float("inf")
    for _ in range(5):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        step()
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return batch * length / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    threads = [1, os.cpu_count() or 1] if args.device == "cpu" else [torch.get_num_threads()]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"device {args.device}; batch {args.batch} x {args.length} tokens")  # fmt: skip
    print()
    print("| model (small) | parameters | " + " | ".join(f"tokens/s, {n} thr" for n in threads)
          + " |")  # fmt: skip
    print("|---|---|" + "---|" * len(threads))
    for name in MODELS:
        cells = []
        for n in threads:
            torch.set_num_threads(n)
            cells.append(f"{tokens_per_second(name, args.batch, args.length, args.device):,.0f}")
        params = build_model(model_config(name, "small", vocab_size=131)).num_parameters()
        print(f"| {name} | {params:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
