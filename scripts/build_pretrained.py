"""Rebuild the bundled `folk` model: prepare Essen, train with configs/folk.toml, evaluate, export.

    python scripts/build_pretrained.py [--data ../shared/data/essen_kern/deutschl] [--work build]

Writes ``src/continuo/pretrained/folk/`` (model.safetensors, config.json, MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "essen_kern" / "deutschl"
TARGET = REPO / "src" / "continuo" / "pretrained" / "folk"
CONFIG = REPO / "configs" / "folk.toml"


def continuo(*args: str) -> str:
    command = [sys.executable, "-m", "continuo", *args]
    print("$ continuo", " ".join(args), flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "pretrained")
    args = parser.parse_args()
    dataset, run = args.work / "deutschl", args.work / "run"

    # deutschl/kinder is held out: benchmarks/idyom_kinder.py fine-tunes this model on its folds
    folders = sorted(str(f) for f in args.data.iterdir() if f.is_dir() and f.name != "kinder")
    continuo("prepare", *folders, "--codec", "melody", "--out", str(dataset))
    started = time.perf_counter()
    resume = ["--resume"] if (run / "last").exists() else []
    subprocess.run(
        [sys.executable, "-m", "continuo", "train", str(dataset), "--config", str(CONFIG),
         "--out", str(run), *resume],
        check=True,
    )  # fmt: skip
    minutes = (time.perf_counter() - started) / 60
    test = json.loads(continuo("evaluate", str(run), str(dataset), "--split", "test", "--json"))

    TARGET.mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "best" / "model.safetensors", TARGET / "model.safetensors")
    config = json.loads((run / "best" / "config.json").read_text())
    config["dataset"] = {
        "fingerprint": config["dataset"]["fingerprint"],
        "name": "Essen folk songs, deutschl without kinder (5,152 kern files)",
    }
    config.pop("loop", None)
    config["evaluation"] = {"test": test}
    (TARGET / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (TARGET / "MODEL_CARD.md").write_text(model_card(config, test, minutes))
    print(f"wrote {TARGET}")


def model_card(config: dict, test: dict, minutes: float) -> str:
    model, train, metrics = config["model"], config["train"], config["metrics"]
    size = (TARGET / "model.safetensors").stat().st_size / 1e6
    return f"""# `folk` — the bundled melody model

Continues folk melodies; what `continuo demo` and `continuo generate` use by default.

| | |
|---|---|
| architecture | `{model["name"]}`: {json.dumps({k: v for k, v in model.items() if k not in ("name",)})} |
| file | `model.safetensors`, {size:.1f} MB |
| codec | `melody`: 16th-note steps, MIDI pitch / `_` hold / `r` rest / `/` song end; songs transposed to C major / A minor (output returns to the seed's key) |
| data | Essen folk songs, `deutschl` without `kinder` (5,152 kern files from ../shared/data/essen_kern; `kinder`'s 213 songs are kept out for the IDyOM benchmark), split by a hash of each song's name: {test["pieces"]} test songs held out, 5% validation |
| training | causal objective (every next token), AdamW lr {train["lr"]}, batch {train["batch_size"]} x {train["block_size"]} tokens, weights of the best validation epoch, {metrics.get("epoch", "?")} of at most {train["epochs"]} ({minutes:.0f} min on {platform.machine()}, CPU, 2 cores) |
| held-out test | **{test["bits_per_note"]:.3f} bits per note** (pitch of each note, IDyOM's unit), {test["bits_per_token"]:.3f} bits per token, next-token accuracy {test["accuracy"]:.1%} ({test["notes"]:,} notes, {test["tokens"]:,} tokens) |

Reproduce: `make pretrained` (runs `python scripts/build_pretrained.py`, which prepares the corpus,
trains with `configs/folk.toml` and evaluates the test split).

Limits: it knows German folk songs of the 19th/20th century in major and minor keys, one voice,
no chords; seeds far from that style (chromatic, atonal, very long notes) get folk-like answers.
"""


if __name__ == "__main__":
    main()
