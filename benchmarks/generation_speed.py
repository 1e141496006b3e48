"""Benchmark: incremental decoding against re-running the window for every new note.

    python benchmarks/generation_speed.py [--model folk] [--notes 500] [--repeats 3] [--batch 1]

The seeds' predict loop feeds the last window of symbols through the whole network for every new
note. continuo consumes the seed once (``prefill``) and then costs one ``step`` per token (RNN
state + attention KV cache). Same model, same 64-step seed, greedy decoding so that both loops
must produce the same tokens (checked), until ``--notes`` notes are written. One output by
default; ``--batch N`` decodes N together, as ``continuo generate --num-outputs N`` does. The
window loop uses the model's full context (``block_size``), the only window that gives the same
predictions.

It also measures the floor under any one-token step: every weight matrix the step must read, one
matrix-vector product each, back to back (in the fastest layout, with no other work). At batch 1
on a CPU a step streams all the weights from memory once, while the window re-run keeps each
layer's weights in cache across the window; so ``window time / floor`` is the largest speed-up
any implementation of incremental decoding could reach with this model on this machine.
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
def incremental(model, prompt: torch.Tensor, notes: int, is_note: torch.Tensor) -> list[list[int]]:
    """Greedy tokens (one list per step, a token per row) until row 0 has written ``notes``."""
    logits, state = model.prefill(prompt)
    logits, out, written = logits[:, -1], [], 0
    while written < notes:
        token = logits.argmax(-1)
        out.append(token.tolist())
        written += int(is_note[token[0]])
        logits, state = model.step(token, state)
    return out


@torch.no_grad()
def rerun_window(
    model, prompt: torch.Tensor, notes: int, is_note: torch.Tensor, window: int
) -> list[list[int]]:
    """The same, running the model over the last ``window`` tokens for every new token."""
    ids, out, written = prompt, [], 0
    while written < notes:
        logits, _ = model(ids[:, -window:])
        token = logits[:, -1].argmax(-1)
        out.append(token.tolist())
        written += int(is_note[token[0]])
        ids = torch.cat([ids, token[:, None]], dim=1)
    return out


@torch.no_grad()
def weight_floor(model, batch: int, repeats: int = 200) -> float:
    """Seconds per token for one product with each weight matrix.

    The embedding is a lookup, not a product, unless the head reuses it (``tie_weights``).
    """
    tied = getattr(model.config, "tie_weights", False)
    embeddings = set() if tied else {
        id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)
    }  # fmt: skip
    matrices = [  # [in, out], contiguous: the fastest layout for one row on a CPU
        p.detach().t().contiguous()
        for p in model.parameters()
        if p.dim() == 2 and id(p) not in embeddings
    ]
    inputs = [torch.randn(batch, w.size(0)) for w in matrices]

    def products() -> None:
        for x, w in zip(inputs, matrices, strict=True):
            x @ w

    for _ in range(20):
        products()
    started = time.perf_counter()
    for _ in range(repeats):
        products()
    return (time.perf_counter() - started) / repeats


@torch.no_grad()
def one_row_products(repeats: int = 2000) -> dict[str, float]:
    """Microseconds for ``[1, 256] x [256, 1024]`` at each precision PyTorch's CPU kernels offer.

    Lower precision would read fewer bytes per step, were its one-row kernels as fast.
    """
    x, w = torch.randn(1, 256), torch.randn(1024, 256)
    scale = w.abs().amax(1) / 127
    w8 = torch.round(w / scale[:, None]).to(torch.int8)
    xb, wb, xh, wh = x.bfloat16(), w.bfloat16(), x.half(), w.half()
    products = {
        "float32": lambda: x @ w.t(),
        "bfloat16": lambda: xb @ wb.t(),
        "float16": lambda: xh @ wh.t(),
        "int8 weights": lambda: torch._weight_int8pack_mm(x, w8, scale),
    }
    times = {}
    for name, product in products.items():
        for _ in range(100):
            product()
        started = time.perf_counter()
        for _ in range(repeats):
            product()
        times[name] = (time.perf_counter() - started) / repeats * 1e6
    return times


def best_of(repeats: int, fn) -> tuple[float, list]:
    times, result = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="folk")
    parser.add_argument("--notes", type=int, default=500, help="notes to write (per output)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1, help="outputs decoded together")
    args = parser.parse_args()
    generator = Generator.from_pretrained(args.model, device="cpu")
    model, codec = generator.model, generator.codec
    seed = codec.tokens_to_ids(parse_melody_text(SEED_64))
    assert len(seed) == 64
    prompt = torch.tensor([[codec.separator_id, *seed]] * args.batch)
    window = generator.context
    tokens = codec.ids_to_tokens(range(codec.vocab_size))
    is_note = torch.tensor([token.isdigit() for token in tokens])  # a pitch starts a note

    fast, a = best_of(args.repeats, lambda: incremental(model, prompt, args.notes, is_note))
    slow, b = best_of(
        args.repeats, lambda: rerun_window(model, prompt, args.notes, is_note, window)
    )
    steps = len(a)
    floor = weight_floor(model, args.batch) * steps
    same = sum(x == y for x, y in zip(a, b, strict=False))
    threads = torch.get_num_threads()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{threads} threads; model {args.model}: {model.config.name}, "
          f"{model.num_parameters():,} parameters, context {window}, batch {args.batch}")  # fmt: skip
    print()
    notes = args.notes * args.batch  # all outputs together
    print(f"{args.notes} notes per output = {steps} tokens (16th-note steps), {args.batch} "
          f"output(s), 64-step seed, greedy\n")  # fmt: skip
    print("| decoding | seconds | notes/s | speed-up |")
    print("|---|---|---|---|")
    print(f"| re-run the window for every token (the seeds' loop) | {slow:.2f} | "
          f"{notes / slow:,.0f} | 1x |")  # fmt: skip
    print(f"| incremental (prefill + one step per token) | {fast:.3f} | {notes / fast:,.0f} | "
          f"{slow / fast:.0f}x |")  # fmt: skip
    print(f"| floor: each weight matrix read once per token, nothing else | {floor:.3f} | "
          f"{notes / floor:,.0f} | {slow / floor:.0f}x (ceiling) |")  # fmt: skip
    print(f"\nidentical greedy tokens: {same}/{steps} (window loop: {len(b)} tokens)")

    started = time.perf_counter()
    generator.generate_continuation(SEED_64, steps=steps, num_outputs=args.batch, rng_seed=0)
    print(f"Generator.generate_continuation, {steps} steps x {args.batch} (sampling included): "
          f"{time.perf_counter() - started:.2f} s")  # fmt: skip
    products = ", ".join(f"{name} {us:.0f} us" for name, us in one_row_products().items())
    print(f"one row times a 256 x 1024 matrix: {products}")


if __name__ == "__main__":
    main()
