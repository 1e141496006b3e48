"""``continuo train``: train a model on a prepared dataset into a run folder."""

from __future__ import annotations

import argparse
import dataclasses
import math
import textwrap
import tomllib
from typing import Any

from continuo.errors import ConfigError, ReadError
from continuo.models.configs import DEFAULT_MODEL, DEFAULT_PRESET, MODEL_NAMES
from continuo.training.config import TrainConfig

__all__ = ["add_parser", "run"]

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
  continuo train s3://corpus/datasets/essen --out s3://corpus/runs/essen   # in object storage

A run folder holds best/ and last/ (safetensors weights + config.json) and metrics.jsonl. DATASET
and RUN_DIR may be URLs (s3://, gs://, az://, memory://): the dataset is copied into the cache,
and each checkpoint is published as it is written, whole (RUN_DIR/last/CURRENT names it).
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
    parser.add_argument(
        "dataset", metavar="DATASET", help="a folder written by continuo prepare, or its URL"
    )
    parser.add_argument(
        "--model", help=f"architecture: {', '.join(MODEL_NAMES)} (default: {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--preset", help=f"size preset: debug, small or base (default: {DEFAULT_PRESET})"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="TOML with [model] and [train] (a path or a URL)"
    )
    parser.add_argument("--epochs", type=int, help="passes over the training split (default 20)")
    parser.add_argument(
        "--minutes",
        type=float,
        metavar="N",
        help="wall-clock budget: stop after N minutes of training, validating and writing best/ "
        "and last/ first; the learning rate decays over the budget (default 0: no limit)",
    )
    parser.add_argument(
        "--out", required=True, metavar="RUN_DIR", help="the run folder, or its URL (s3://...)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue RUN_DIR from its last checkpoint"
    )
    parser.set_defaults(run=run, accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    """Gather the request (options, --config), let :func:`~continuo.training.plan.plan_run`
    make the run's settings, and train."""
    from continuo.data.dataset import TokenCorpus
    from continuo.storage import Mirror
    from continuo.training.plan import RunRequest, plan_run
    from continuo.training.run_config import DatasetInfo
    from continuo.training.trainer import Trainer

    corpus = TokenCorpus.open(args.dataset)
    if not corpus.pieces("train"):
        skipped = len(corpus.manifest.get("skipped", []))
        raise ConfigError(
            f"{args.dataset}: no pieces to train on (the train split is empty; "
            f"{len(corpus.pieces())} pieces in all, {skipped} files or pieces skipped when it "
            "was prepared: see the summary of continuo prepare)"
        )
    tables = _toml_sections(args.config) if args.config else {}
    request = RunRequest(
        model=args.model,
        preset=args.preset,
        model_table=tables.get("model", {}),
        train_table=tables.get("train", {}),
        options={**_pairs(getattr(args, "extra", [])), **_own_options(args)},
    )
    dataset = DatasetInfo(fingerprint=corpus.fingerprint, path=str(args.dataset))
    run_folder = Mirror(args.out)  # a URL: a local copy, whose checkpoints are published
    run_folder.pull()
    run_config = plan_run(
        request,
        codec=corpus.codec,
        dataset=dataset,
        out=run_folder.local,
        resume=args.resume,
        shown=run_folder.url,
    )
    train_cfg = run_config.train
    trainer = Trainer(
        corpus, run_config.model, train_cfg, run_folder.local, publish=run_folder.push
    )
    resumed = trainer.resume() if args.resume else False
    if args.resume and not resumed:
        raise ConfigError(
            f"{args.out}: no checkpoint to resume yet; start the run without --resume: "
            f"continuo train {args.dataset} --out {args.out} ..."
        )
    if trainer.dist.is_main:
        where = f"resuming at epoch {trainer.loop.epoch + 1}" if resumed else "starting"
        print(
            f"{where}: {run_config.model.name} ({trainer.model.num_parameters():,} parameters) "
            f"on {len(corpus.pieces('train')):,} pieces, {trainer.device}, objective "
            f"{train_cfg.objective}",
            flush=True,
        )
    metrics = trainer.fit()
    if trainer.dist.is_main:
        best, step = trainer.loop.best, trainer.loop.step
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


def _toml_sections(location: str) -> dict[str, dict[str, Any]]:
    """The tables of a --config file."""
    from continuo.storage import fetch

    path = fetch(location)
    try:
        sections = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ReadError(location, f"not a readable TOML file: {error}") from None
    for name, table in sections.items():
        if name not in ("model", "train") or not isinstance(table, dict):
            raise ReadError(
                location, f"has [{name}]; a --config file has [model] and [train] tables"
            )
    return sections
