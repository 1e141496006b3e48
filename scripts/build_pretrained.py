"""Rebuild the bundled models: prepare the corpus, train, evaluate the held-out split, export.

    python scripts/build_pretrained.py [folk] [piano] [--work build/pretrained] [--export-only]
                                       [--target src/continuo/pretrained]

Writes ``TARGET/NAME/`` (model.safetensors, config.json, MODEL_CARD.md) for each model named (both
when none is). A killed build resumes where it stopped: the dataset comes from the parse cache
and training from its last checkpoint. ``--export-only`` evaluates and exports the run already in
``WORK/NAME/run`` (trained elsewhere: on a GPU, by hand, or by the stages of dvc.yaml, whose
export stage this is) without training, on the dataset in ``WORK/NAME/data`` (prepared when it
is not there).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PRETRAINED = REPO / "src" / "continuo" / "pretrained"


@dataclass(frozen=True)
class Recipe:
    """How one bundled model is built."""

    sources: Callable[[], list[str]]
    codec: list[str]  # continuo prepare's codec flags
    config: Path  # the TOML of continuo train
    dataset_name: str
    card: Callable[[dict, dict, float, list[str], float], str]


def continuo(*args: str) -> str:
    command = [sys.executable, "-m", "continuo", *args]
    print("$ continuo", " ".join(args), flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def build(
    name: str, recipe: Recipe, work: Path, *, export_only: bool = False, target: Path = PRETRAINED
) -> None:
    dataset, run, target = work / name / "data", work / name / "run", target / name
    if not export_only or not (dataset / "manifest.json").is_file():
        continuo("prepare", *recipe.sources(), *recipe.codec, "--out", str(dataset))
    if not export_only:
        resume = ["--resume"] if (run / "last").exists() else []
        subprocess.run(
            [sys.executable, "-m", "continuo", "train", str(dataset), "--config",
             str(recipe.config), "--out", str(run), *resume],
            check=True,
        )  # fmt: skip
    minutes = _training_minutes(run)
    test = json.loads(continuo("evaluate", str(run), str(dataset), "--split", "test", "--json"))
    manifest = json.loads((dataset / "manifest.json").read_text())
    held_out = [p["name"] for p in manifest["pieces"] if p["split"] == "test"]

    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "best" / "model.safetensors", target / "model.safetensors")
    config = json.loads((run / "best" / "config.json").read_text())
    config["dataset"] = {
        "fingerprint": config["dataset"]["fingerprint"],
        "name": recipe.dataset_name,
    }
    config.pop("loop", None)
    config["evaluation"] = {"test": test}
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    size_mb = (target / "model.safetensors").stat().st_size / 1e6
    (target / "MODEL_CARD.md").write_text(recipe.card(config, test, minutes, held_out, size_mb))
    print(f"wrote {target}")


def _training_minutes(run: Path) -> float:
    """Minutes of training of a run, over all its sessions (from its metrics.jsonl)."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return sum(json.loads(line).get("seconds", 0.0) for line in lines if line.strip()) / 60


def _training(config: dict, minutes: float) -> str:
    train, metrics = config["train"], config["metrics"]
    return (
        f"causal objective (every next token), AdamW lr {train['lr']}, batch "
        f"{train['batch_size']} x {train['block_size']} tokens, weights of the best validation "
        f"epoch, {metrics.get('epoch', '?')} of at most {train['epochs']} ({minutes:.0f} min on "
        f"{platform.machine()}, CPU, one thread)"
    )


def _architecture(config: dict) -> str:
    model = config["model"]
    return f"`{model['name']}`: {json.dumps({k: v for k, v in model.items() if k != 'name'})}"


# -- folk ----------------------------------------------------------------------------------------
def folk_sources() -> list[str]:
    # deutschl/kinder is held out: benchmarks/idyom_kinder.py fine-tunes this model on its folds
    root = DATA / "essen_kern" / "deutschl"
    return sorted(str(f) for f in root.iterdir() if f.is_dir() and f.name != "kinder")


def folk_card(config: dict, test: dict, minutes: float, held_out: list[str], size_mb: float) -> str:
    return f"""# `folk` — the bundled melody model

Continues folk melodies; what `continuo demo` and `continuo generate` use by default.

| | |
|---|---|
| architecture | {_architecture(config)} |
| file | `model.safetensors`, {size_mb:.1f} MB |
| codec | `melody`: 16th-note steps, MIDI pitch / `_` hold / `r` rest / `/` song end; songs transposed to C major / A minor (output returns to the seed's key) |
| data | Essen folk songs, `deutschl` without `kinder` (5,152 kern files from ../shared/data/essen_kern; `kinder`'s 213 songs are kept out for the IDyOM benchmark), split by a hash of each song's name: {test["pieces"]} test songs held out, 5% validation |
| training | {_training(config, minutes)} |
| held-out test | **{test["bits_per_note"]:.3f} bits per note** (pitch of each note, IDyOM's unit), {test["bits_per_token"]:.3f} bits per token, next-token accuracy {test["accuracy"]:.1%} ({test["notes"]:,} notes, {test["tokens"]:,} tokens) |

Reproduce: `make pretrained` (runs `python scripts/build_pretrained.py`, which prepares the corpus,
trains with `configs/folk.toml` and evaluates the test split).

Limits: it knows German folk songs of the 19th/20th century in major and minor keys, one voice,
no chords; seeds far from that style (chromatic, atonal, very long notes) get folk-like answers.
"""


# -- piano ---------------------------------------------------------------------------------------
PIANO_CODEC = ["--codec", "events", "-o", "tokenization=REMI", "-o", "velocity_bins=4",
               "-o", "transpose=true"]  # fmt: skip


def piano_card(
    config: dict, test: dict, minutes: float, held_out: list[str], size_mb: float
) -> str:
    songs = ", ".join(name.split("/")[1] for name in held_out)
    return f"""# `piano` — the bundled piano model

Writes piano music in the style of Chinese pop-song piano arrangements, from nothing or
continuing a MIDI seed; what `continuo generate --model piano` and the app's Piano page use.
Fine-tune it on your own folder: `continuo prepare MY_FOLDER --like piano --out data`, then
`continuo train data --init-from piano --minutes 10 --out runs/mine`.

| | |
|---|---|
| architecture | {_architecture(config)} |
| file | `model.safetensors`, {size_mb:.1f} MB |
| codec | `events`, REMI (`Bar`, `Position` on a 16th grid, `Pitch`, `Velocity` in 4 levels, `Duration`), all tracks merged into one piano part, every song moved to C major / A minor (a seed's key is found and the output moved back to it); sustain pedal applied to note ends. Why these: docs/decisions/0013-piano.md |
| data | POP909 (Wang, Chen, Jiang, Zhang, Xu, Dai, Bin, Xia: "POP909: A Pop-song Dataset for Music Arrangement Generation", ISMIR 2020; MIT licence), 909 songs, MELODY + BRIDGE + PIANO tracks, read with their beat and key annotations so that bar lines and keys are right (continuo.io.read_pop909) |
| held-out split | by a hash of each song's name (`assign_split`, 5% test, 5% validation): the {len(held_out)} test songs are {songs} |
| training | {_training(config, minutes)} |
| held-out test | **{test["sequence_bits_per_note"]:.3f} bits per note** (all tokens of a song over its notes), {test["bits_per_token"]:.3f} bits per token, next-token accuracy {test["accuracy"]:.1%} ({test["sequence_notes"]:,} notes, {test["tokens"]:,} tokens) |

Musical statistics against held-out songs, and against another style (Bach chorales) after
fine-tuning: benchmarks/RESULTS-polyphony.md, "The bundled piano model".

Reproduce: `make pretrained` (runs `python scripts/build_pretrained.py`, which prepares POP909
from ../shared/data/pop909, trains with `configs/piano.toml` and evaluates the test split).

Limits: 4/4 bars (POP909 is almost all 4/4; a 3/4 seed is read on a 4/4 bar grid), one piano
part, pop harmony; velocity in four levels; no tempo changes are learned (output keeps the
seed's tempo, or 120 from nothing).
"""


RECIPES = {
    "folk": Recipe(
        folk_sources,
        ["--codec", "melody"],
        REPO / "configs" / "folk.toml",
        "Essen folk songs, deutschl without kinder (5,152 kern files)",
        folk_card,
    ),
    "piano": Recipe(
        lambda: [str(DATA / "pop909")],
        PIANO_CODEC,
        REPO / "configs" / "piano.toml",
        "POP909 (909 pop songs arranged for piano), train split",
        piano_card,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", choices=[[], *RECIPES], default=[])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "pretrained")
    parser.add_argument(
        "--export-only", action="store_true", help="evaluate and export, no training"
    )
    parser.add_argument(
        "--target", type=Path, default=PRETRAINED, help="where NAME/ is written (the package's)"
    )
    args = parser.parse_args()
    for name in args.models or list(RECIPES):
        build(name, RECIPES[name], args.work, export_only=args.export_only, target=args.target)


if __name__ == "__main__":
    main()
