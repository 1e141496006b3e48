"""``continuo train``: train a model on a prepared dataset into a run folder."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import textwrap
import tomllib
from pathlib import Path
from typing import Any

from continuo.cli.options import parse_value
from continuo.errors import ConfigError, ReadError
from continuo.training.config import TrainConfig

__all__ = ["add_parser", "run"]

#: The names in continuo.models.MODELS (kept here so that --help does not import torch).
MODEL_NAMES = ("rnn", "gru", "lstm", "bilstm", "attention_lstm", "transformer")

#: The default architecture: the folk-melody seed's best model, and the fastest to train on a CPU.
DEFAULT_MODEL = "attention_lstm"

#: Settings that may change when a run is resumed; the rest come from the checkpoint.
RESUMABLE = {
    "epochs",
    "max_steps",
    "minutes",
    "patience",
    "checkpoint_every",
    "checkpoint_minutes",
    "device",
}

#: Training settings that have an option of their own (listed by --help with its usage line).
OWN_OPTIONS = ("epochs", "minutes")

EPILOG = """\
Any training or model setting can be given as --name value (dashes or underscores), e.g.
  --lr 1e-3 --batch-size 64 --block-size 128 --objective window --transpose-range 5
  --hidden-size 512 --n-layer 3 --dropout 0.3
or in a TOML file passed with --config, with [model] and [train] tables.

training settings and their defaults:
{settings}

examples:
  continuo train datasets/essen --model transformer --preset small --out runs/essen
  continuo train datasets/essen --model lstm --objective window --block-size 64 --out runs/seed
  continuo train datasets/essen --minutes 30 --out runs/half-hour   # a budget in time
  continuo train datasets/essen --out runs/essen --resume      # after an interruption
  continuo train datasets/mysongs --init-from folk --lr 3e-4 --epochs 5 --out runs/mine
  torchrun --nproc_per_node=2 -m continuo train datasets/essen --model gru --out runs/ddp

A run folder holds best/ and last/ (safetensors weights + config.json) and metrics.jsonl.
last/ is written every --checkpoint-minutes (5) of training and at each epoch's end; a run that
stops inside an epoch (--max-steps, --minutes) validates there and writes best/ and last/.
"""


def _settings_help() -> str:
    """``name value, ...`` for every field of TrainConfig, wrapped and indented."""
    pairs = [f"{field.name} {field.default!r}" for field in dataclasses.fields(TrainConfig)]
    return textwrap.fill(", ".join(pairs), width=92, initial_indent="  ", subsequent_indent="  ")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model on a prepared dataset",
        description="Train a model on a dataset written by continuo prepare. Checkpoints are "
        "written every few minutes and every epoch, atomically; --resume continues a run "
        "killed at any moment.",
        epilog=EPILOG.format(settings=_settings_help()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument(
        "--model", help=f"architecture: {', '.join(MODEL_NAMES)} (default: {DEFAULT_MODEL})"
    )
    parser.add_argument("--preset", help="size preset: debug, small or base (default: small)")
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML with [model] and [train]")
    parser.add_argument("--epochs", type=int, help="passes over the training split (default 20)")
    parser.add_argument(
        "--minutes",
        type=float,
        metavar="N",
        help="wall-clock budget: stop after N minutes of training, validating and writing best/ "
        "and last/ first; the learning rate decays over the budget (default 0: no limit)",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--resume", action="store_true", help="continue RUN_DIR from its last checkpoint"
    )
    parser.set_defaults(run=run, accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    from continuo.data.dataset import TokenCorpus
    from continuo.training.trainer import Trainer

    extra = _pairs(getattr(args, "extra", []))
    corpus = TokenCorpus.open(args.dataset)
    if not corpus.pieces("train"):
        skipped = len(corpus.manifest.get("skipped", []))
        raise ConfigError(
            f"{args.dataset}: no pieces to train on (the train split is empty; "
            f"{len(corpus.pieces())} pieces in all, {skipped} files or pieces skipped when it "
            "was prepared: see the summary of continuo prepare)"
        )
    if args.resume:
        saved = _saved_config(args)
        model_cfg, train_cfg = _resumed_configs(args, extra, saved, corpus.codec.vocab_size)
    else:
        _refuse_to_overwrite(args.out)
        model_cfg, train_cfg = _fresh_configs(args, extra, corpus.codec.vocab_size)

    trainer = Trainer(corpus, model_cfg, train_cfg, args.out)
    resumed = trainer.resume() if args.resume else False
    if args.resume and not resumed:
        raise _nothing_to_resume(args)
    if trainer.dist.is_main:
        where = f"resuming at epoch {trainer.loop['epoch'] + 1}" if resumed else "starting"
        print(
            f"{where}: {model_cfg.name} ({trainer.model.num_parameters():,} parameters) on "
            f"{len(corpus.pieces('train')):,} pieces, {trainer.device}, objective "
            f"{train_cfg.objective}",
            flush=True,
        )
    metrics = trainer.fit()
    if trainer.dist.is_main:
        best, step = trainer.loop["best"], trainer.loop["step"]
        budget = f" ({train_cfg.minutes:g} minutes spent)" if trainer.out_of_time else ""
        if best is None:  # no step taken: a resumed run that had already reached its end
            print(f"done after {step} steps; checkpoint in {args.out}/last")
        else:
            print(
                f"done: best {best / math.log(2):.3f} bits/token after {step} steps{budget}; "
                f"checkpoints in {args.out}/best and {args.out}/last"
            )
    return 0 if metrics is not None else 1


def _own_options(args: argparse.Namespace) -> dict[str, Any]:
    """The training settings given with options of their own (``--epochs``, ``--minutes``)."""
    return {name: value for name in OWN_OPTIONS if (value := getattr(args, name)) is not None}


def _resumed_configs(args, extra: dict[str, str], saved: dict[str, Any], vocab_size: int):
    """The saved configs, with the settings a resumed run may change.

    Every other setting given (on the command line or in --config) must agree with the run's;
    one that does not is a :class:`ConfigError` naming it.
    """
    from continuo.models import config_from_dict, model_config

    model_cfg = config_from_dict(saved["model"])
    train_cfg = TrainConfig(**saved["train"])
    sections = _toml_sections(args.config) if args.config else {}
    model_given = dict(sections.get("model", {}))
    name = args.model or model_given.pop("name", None)
    preset = args.preset or model_given.pop("preset", None)
    if name and name != model_cfg.name:
        raise ConfigError(
            f"{args.out}: is a {model_cfg.name} run, and --model {name} contradicts it; resume "
            "without --model, or train a new run with another --out"
        )
    train_given = {**sections.get("train", {}), **extra, **_own_options(args)}
    model_given.update((key, value) for key, value in extra.items() if key not in RESUMABLE)
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    model_fields = {f.name for f in dataclasses.fields(model_cfg)}
    differ: dict[str, str] = {}

    def compare(key: str, given: Any, kept: Any) -> None:
        given = parse_value(given) if isinstance(given, str) else given
        if given != kept:
            differ.setdefault(key, f"{key} is {kept!r} in the run, {given!r} given")

    for key, value in model_given.items():
        if key in model_fields:
            compare(key, value, getattr(model_cfg, key))
        elif key not in train_fields:
            raise ConfigError(
                f"{args.out}: a {model_cfg.name} run has no setting --{key.replace('_', '-')}"
            )
    for key, value in train_given.items():
        if key in train_fields and key not in RESUMABLE:
            compare(key, value, getattr(train_cfg, key))
    if preset:
        sizes = {k: v for k, v in model_given.items() if k in model_fields}
        asked = model_config(model_cfg.name, preset=preset, vocab_size=vocab_size, **sizes)
        for key, value in dataclasses.asdict(asked).items():
            if key not in sizes:
                compare(key, value, getattr(model_cfg, key, None))
    if differ:
        raise ConfigError(
            f"{args.out}: a resumed run keeps its settings ({'; '.join(differ.values())}); only "
            f"{', '.join(sorted(RESUMABLE))} may change"
        )
    changes = {key: value for key, value in train_given.items() if key in RESUMABLE}
    return model_cfg, dataclasses.replace(train_cfg, **_typed(TrainConfig, changes))


def _pairs(extra: list[str]) -> dict[str, str]:
    """``["--lr", "1e-3", "--batch-size=64"]`` -> ``{"lr": "1e-3", "batch_size": "64"}``."""
    pairs: dict[str, str] = {}
    i = 0
    while i < len(extra):
        item = extra[i]
        if not item.startswith("--"):
            raise ConfigError(f"unexpected argument {item!r}")
        key, sep, value = item[2:].partition("=")
        if not sep:
            if i + 1 >= len(extra):
                raise ConfigError(f"option {item} needs a value")
            value, i = extra[i + 1], i + 1
        pairs[key.replace("-", "_")] = value
        i += 1
    return pairs


def _typed(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Convert string values to the types of ``cls``'s fields (JSON where it parses)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"unknown setting --{key.replace('_', '-')}")
        out[key] = parse_value(value) if isinstance(value, str) else value
    return out


def _fresh_configs(args: argparse.Namespace, extra: dict[str, str], vocab_size: int):
    """The model and training configs of a new run: preset < --config file < command line."""
    from continuo.models import model_config

    sections = _toml_sections(args.config) if args.config else {}
    model_section = dict(sections.get("model", {}))
    train_section = dict(sections.get("train", {}))
    name = args.model or model_section.pop("name", DEFAULT_MODEL)
    preset = args.preset or model_section.pop("preset", "small")
    model_section.pop("name", None)
    model_section.pop("preset", None)
    train_section.update(_own_options(args))
    init_from = extra.get("init_from") or train_section.get("init_from")
    if init_from:  # fine-tuning: the model is the checkpoint's
        return _init_configs(args, extra, train_section, str(init_from), vocab_size)
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    model_fields = {f.name for f in dataclasses.fields(model_config(name, preset, vocab_size=1))}
    for key, value in extra.items():
        if key in train_fields:
            train_section[key] = value
        if key in model_fields or key not in train_fields:  # block_size: both, one context
            model_section[key] = value
    train_cfg = TrainConfig(**_typed(TrainConfig, train_section))
    model_cfg = model_config(name, preset=preset, vocab_size=vocab_size, **model_section)
    return model_cfg, train_cfg


def _init_configs(args, extra, train_section, init_from: str, vocab_size: int):
    """Configs of a fine-tuning run: the checkpoint's model, this command's training settings."""
    from continuo.models import config_from_dict
    from continuo.pretrained import resolve_model
    from continuo.training.checkpoint import find_checkpoint

    folder = find_checkpoint(resolve_model(init_from))
    model_cfg = config_from_dict(json.loads((folder / "config.json").read_text())["model"])
    if (args.model and args.model != model_cfg.name) or args.preset:
        raise ConfigError(f"--init-from {init_from} brings its own model; drop --model/--preset")
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(extra) - train_fields)
    if unknown:
        raise ConfigError(
            f"--init-from {init_from} fixes the model; cannot set {', '.join(unknown)}"
        )
    if model_cfg.vocab_size != vocab_size:
        raise ConfigError(f"--init-from {init_from}: its vocabulary differs from this dataset's")
    train_section = {**train_section, **extra}
    return model_cfg, TrainConfig(**_typed(TrainConfig, train_section))


def _toml_sections(path: Path) -> dict[str, dict[str, Any]]:
    """The tables of a --config file."""
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ReadError(path, f"not a readable TOML file: {error}") from None


def _saved_config(args: argparse.Namespace) -> dict[str, Any]:
    """The config of the checkpoint ``--resume`` continues from (``RUN_DIR/last``)."""
    from continuo.training.checkpoint import find_checkpoint

    try:
        folder = find_checkpoint(args.out, prefer="last", fallback=False)
        return json.loads((folder / "config.json").read_text())
    except ReadError:
        raise _nothing_to_resume(args) from None
    except (OSError, ValueError) as error:
        raise ReadError(args.out / "last" / "config.json", f"unreadable: {error}") from None


def _nothing_to_resume(args: argparse.Namespace) -> ConfigError:
    """The error of ``--resume`` on a run folder without a resumable ``last`` checkpoint."""
    what = "no such run folder" if not args.out.exists() else "no checkpoint to resume yet"
    return ConfigError(
        f"{args.out}: {what} (last/ is written after a few minutes of training and at each "
        f"epoch's end); start the run without --resume: continuo train {args.dataset} "
        f"--out {args.out} ..."
    )


def _refuse_to_overwrite(out: Path) -> None:
    if (out / "last").exists() or (out / "best").exists():
        raise ConfigError(
            f"{out}: already holds a run; add --resume to continue it, or pick another --out"
        )
