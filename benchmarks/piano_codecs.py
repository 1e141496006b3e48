"""Which codec for piano? Bits per note on POP909's held-out songs at a fixed training budget.

    python benchmarks/piano_codecs.py [--steps 250] [--work build/piano-codecs] [--markdown]

For each candidate tokenization of ``../shared/data/pop909`` (``continuo prepare --codec events``
with the options below), train the same model for the same number of optimiser steps (same
batch, same window: the same CPU budget per step), then score the held-out test songs with
``continuo evaluate``. The figure that compares tokenizations is *bits per note*: the pieces'
summed token log-loss over their number of notes (``sequence_bits_per_note``). A codec that
drops velocity writes less information per note, so its figure is lower for that reason too; the
table says which codecs carry velocity.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POP909 = REPO.parent / "shared" / "data" / "pop909"

#: name -> codec options (``-o key=value``) of the events codec.
CANDIDATES: dict[str, dict[str, object]] = {
    "tsd-v8 (the events default)": {},
    "remi-v4": {"tokenization": "REMI", "velocity_bins": 4},
    "remi-v4-key": {"tokenization": "REMI", "velocity_bins": 4, "transpose": True},
    "remi-v0-key": {"tokenization": "REMI", "velocity_bins": 0, "transpose": True},
}

MODEL = [
    "--model", "attention_lstm", "--preset", "small", "--block-size", "512",
    "--batch-size", "16", "--warmup-steps", "50",
]  # fmt: skip


def continuo(*args: str) -> str:
    command = [sys.executable, "-m", "continuo", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "piano-codecs")
    parser.add_argument("--only", nargs="*", help="candidate names to run")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, options in CANDIDATES.items():
        if args.only and name.split()[0] not in args.only:
            continue
        slug = name.split()[0]
        data, run = args.work / slug / "data", args.work / slug / "run"
        flags = [f for k, v in options.items() for f in ("-o", f"{k}={str(v).lower()}")]
        if not (data / "manifest.json").exists():
            continuo("prepare", str(POP909), "--codec", "events", *flags, "--out", str(data))
        manifest = json.loads((data / "manifest.json").read_text())
        started = time.perf_counter()
        if not (run / "last").exists():
            continuo("train", str(data), *MODEL, "--max-steps", str(args.steps), "--out", str(run))
        seconds = time.perf_counter() - started
        result = json.loads(
            continuo("evaluate", str(run), str(data), "--checkpoint", "last", "--json")
        )
        rows.append(
            {
                "codec": name,
                "options": options,
                "vocab": len(manifest["codec"]["vocab"]),
                "tokens_per_note": result["tokens"] / result["sequence_notes"],
                "bits_per_token": result["bits_per_token"],
                "bits_per_note": result["sequence_bits_per_note"],
                "train_seconds": round(seconds),
                "test_pieces": result["pieces"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    if args.markdown:
        print("| codec | options | vocabulary | tokens/note | bits/token | **bits/note** |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            options = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "-"
            print(
                f"| {r['codec']} | {options} | {r['vocab']} | {r['tokens_per_note']:.2f} | "
                f"{r['bits_per_token']:.3f} | **{r['bits_per_note']:.3f}** |"
            )


if __name__ == "__main__":
    main()
