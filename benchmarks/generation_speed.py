"""Benchmark: incremental decoding against re-running the window for every new note.

    python benchmarks/generation_speed.py [--model folk] [--tokens 500] [--repeats 3]

The seeds' predict loop feeds the last window of symbols through the whole network for every new
note. continuo consumes the seed once (``prefill``) and then costs one ``step`` per token (RNN
state + attention KV cache). Same model, same 64-step seed, greedy decoding so that both loops
must produce the same tokens (checked), batch of one, as a user generates. The window loop uses
the model's full context (``block_size``), the only window that gives the same predictions.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from continuo.codecs.melody import parse_melody_text
from continuo.generation.generator import Generator

SEED_64 = " ".join(
    ["60 _ 62 _ 64 _ 65 _ 67 _ _ _ 67 _ _ _ 69 _ 69 _ 69 _ 69 _ 67 _ _ _ r _ _ _"] * 2
)


@torch.no_grad()
def incremental(model, prompt: torch.Tensor, n: int) -> list[int]:
    logits, state = model.prefill(prompt)
    logits, out = logits[:, -1], []
    for _ in range(n):
        token = logits.argmax(-1)
        out.append(int(token))
        logits, state = model.step(token, state)
    return out


@torch.no_grad()
def rerun_window(model, prompt: torch.Tensor, n: int, window: int) -> list[int]:
    ids, out = prompt, []
    for _ in range(n):
        logits, _ = model(ids[:, -window:])
        token = logits[:, -1].argmax(-1)
        out.append(int(token))
        ids = torch.cat([ids, token[:, None]], dim=1)
    return out


def best_of(repeats: int, fn) -> tuple[float, list[int]]:
    times, result = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="folk")
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    generator = Generator.from_pretrained(args.model, device="cpu")
    model, codec = generator.model, generator.codec
    seed = codec.tokens_to_ids(parse_melody_text(SEED_64))
    assert len(seed) == 64
    prompt = torch.tensor([[codec.separator_id, *seed]])
    window = generator.context

    fast, a = best_of(args.repeats, lambda: incremental(model, prompt, args.tokens))
    slow, b = best_of(args.repeats, lambda: rerun_window(model, prompt, args.tokens, window))
    same = sum(x == y for x, y in zip(a, b, strict=True))
    threads = torch.get_num_threads()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{threads} threads; model {args.model}: {model.config.name}, "
          f"{model.num_parameters():,} parameters, context {window}")  # fmt: skip
    print()
    print(f"| decoding ({args.tokens} tokens, 64-step seed) | seconds | tokens/s | speed-up |")
    print("|---|---|---|---|")
    print(f"| re-run the window for every token (the seeds' loop) | {slow:.2f} | "
          f"{args.tokens / slow:,.0f} | 1x |")  # fmt: skip
    print(f"| incremental (prefill + one step per token) | {fast:.3f} | {args.tokens / fast:,.0f} | "
          f"{slow / fast:.0f}x |")  # fmt: skip
    print(f"\nidentical greedy tokens: {same}/{args.tokens}")


if __name__ == "__main__":
    main()
