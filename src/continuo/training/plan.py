"""The rules that make a run's settings from what a user asked: a new run, a resumed one, a
fine-tuning one. ``continuo train`` only gathers the request (options, a TOML file) and calls
:func:`plan_run`.

- **New run:** the model preset, then the ``--config`` file's ``[model]`` and ``[train]`` tables,
  then the command line. A command-line setting goes to training, to the model, or to both when
  both have it (``block_size``: the window of training is the model's context).
- **Resumed run** (``--resume``): the settings saved in ``RUN/last``. Only :data:`RESUMABLE`
  settings may change; any other setting given must agree with the run's, else a one-line
  :class:`ConfigError` names what differs.
- **Fine-tuning** (``--init-from CHECKPOINT``): the checkpoint's model (its codec must be the
  dataset's), this command's training settings; model settings may not be given, except equal
  to the checkpoint's.

Every name is checked once, by :func:`continuo.settings.check_known`, and every value converted
once, by the config it belongs to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from continuo.codecs import Codec
from continuo.errors import ConfigError, ReadError
from continuo.models.configs import DEFAULT_MODEL, DEFAULT_PRESET, model_config, setting_names
from continuo.settings import check_known, convert, flag
from continuo.training.checkpoint import find_checkpoint
from continuo.training.config import TrainConfig
from continuo.training.run_config import DatasetInfo, RunConfig, read_run_config, train_config

__all__ = ["RESUMABLE", "RunRequest", "fine_tuned_run", "new_run", "plan_run", "resumed_run"]

#: Settings that may change when a run is resumed; the rest come from the checkpoint.
RESUMABLE = frozenset(
    {
        "epochs",
        "max_steps",
        "minutes",
        "patience",
        "checkpoint_every",
        "checkpoint_minutes",
        "device",
    }
)

_TRAIN_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class RunRequest:
    """What a user asked of a run, before the rules of :func:`plan_run` are applied."""

    model: str | None = None
    """``--model``: the architecture (else the ``[model]`` table's ``name``, else the default)."""
    preset: str | None = None
    """``--preset``: the size preset (else the ``[model]`` table's ``preset``, else ``small``)."""
    model_table: Mapping[str, Any] = field(default_factory=dict)
    """The ``[model]`` table of a ``--config`` file (it may hold ``name`` and ``preset``)."""
    train_table: Mapping[str, Any] = field(default_factory=dict)
    """The ``[train]`` table of a ``--config`` file."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Settings from the command line (``--lr 1e-3`` as ``{"lr": "1e-3"}``), training or model
    ones alike; they win over the tables."""

    def model_name(self, default: str | None = DEFAULT_MODEL) -> str | None:
        """The architecture asked for (``--model``, else the ``[model]`` table), or ``default``."""
        return self.model or self.model_table.get("name") or default

    def preset_name(self, default: str | None = DEFAULT_PRESET) -> str | None:
        """The size preset asked for (``--preset``, else the ``[model]`` table), or ``default``."""
        return self.preset or self.model_table.get("preset") or default

    def model_settings(self) -> dict[str, Any]:
        """The ``[model]`` table without ``name`` and ``preset``."""
        return {k: v for k, v in self.model_table.items() if k not in ("name", "preset")}


def plan_run(
    request: RunRequest,
    *,
    codec: Codec,
    dataset: DatasetInfo,
    out: Path,
    resume: bool,
    shown: str | None = None,
) -> RunConfig:
    """The settings of the run ``request`` asks for, writing into ``out``, on the dataset
    ``dataset`` encoded with ``codec``: resumed from ``out/last`` (``resume``), fine-tuned from
    ``init_from``, or new. Every contradiction is a one-line :class:`ConfigError`, naming the run
    folder ``shown`` (the URL of a run in object storage whose local copy is ``out``)."""
    out = Path(out)
    label = shown or str(out)
    if resume:
        try:
            folder = find_checkpoint(out, prefer="last", fallback=False)
        except ReadError:
            raise _nothing_to_resume(out, dataset, label) from None
        return resumed_run(read_run_config(folder), request, out=label, dataset=dataset)
    if (out / "last").exists() or (out / "best").exists():
        raise ConfigError(
            f"{label}: already holds a run; add --resume to continue it, or pick another --out"
        )
    init_from = request.options.get("init_from") or request.train_table.get("init_from")
    if init_from:
        init = read_run_config(find_checkpoint(str(init_from)))
        return fine_tuned_run(init, request, codec=codec, dataset=dataset)
    return new_run(request, codec=codec, dataset=dataset)


def new_run(request: RunRequest, *, codec: Codec, dataset: DatasetInfo) -> RunConfig:
    """A new run: preset < ``[model]``/``[train]`` tables < command line."""
    name = str(request.model_name())
    preset = str(request.preset_name())
    model_values = request.model_settings()
    train_values = dict(request.train_table)
    for key, value in _checked_options(request, name).items():
        if key in _TRAIN_FIELDS:
            train_values[key] = value
        if key in setting_names(name):  # block_size: both, one context
            model_values[key] = value
    return RunConfig(
        model=model_config(name, preset, vocab_size=codec.vocab_size, **model_values),
        codec=codec,
        train=train_config(train_values, owner="--config [train]"),
        dataset=dataset,
    )


def fine_tuned_run(
    init: RunConfig, request: RunRequest, *, codec: Codec, dataset: DatasetInfo
) -> RunConfig:
    """A fine-tuning run: ``init``'s model (and weights, loaded by the trainer), this request's
    training settings."""
    source = request.options.get("init_from") or request.train_table.get("init_from")
    where = f"--init-from {source}"
    model = init.model
    if request.model_name(None) not in (None, model.name) or request.preset_name(None):
        raise ConfigError(f"{where} brings its own model; drop --model/--preset")
    check_known(
        request.options,
        _TRAIN_FIELDS,
        owner=f"{where} fixes the model; a fine-tuning run",
        hint="it takes training settings only",
    )
    check_known(request.model_settings(), setting_names(model.name), owner=f"a {model.name} model")
    _must_agree(request.model_settings(), dataclasses.asdict(model), what=f"{where}: the model")
    if model.vocab_size != codec.vocab_size:
        raise ConfigError(f"{where}: its vocabulary differs from this dataset's")
    if init.codec.to_dict() != codec.to_dict():
        raise ConfigError(f"{where}: needs a model of this dataset's codec")
    train = train_config({**request.train_table, **request.options}, owner="--config [train]")
    return RunConfig(model=model, codec=codec, train=train, dataset=dataset)


def resumed_run(
    saved: RunConfig, request: RunRequest, *, out: str | Path, dataset: DatasetInfo
) -> RunConfig:
    """The run saved in ``out/last``, with the :data:`RESUMABLE` settings ``request`` changes."""
    model = saved.model
    name = request.model_name(None)
    if name and name != model.name:
        raise ConfigError(
            f"{out}: is a {model.name} run, and --model {name} contradicts it; resume "
            "without --model, or train a new run with another --out"
        )
    if saved.dataset.fingerprint != dataset.fingerprint:
        raise ConfigError(f"{out}: was trained on another dataset; cannot resume on this")
    options = _checked_options(request, model.name)
    check_known(request.train_table, _TRAIN_FIELDS, owner="--config [train]")
    train_given = {
        k: v for k, v in {**request.train_table, **options}.items() if k in _TRAIN_FIELDS
    }
    model_given = {**request.model_settings()}
    model_given.update((k, v) for k, v in options.items() if k in setting_names(model.name))
    check_known(model_given, setting_names(model.name), owner=f"{out}: a {model.name} run")
    differ = _differences(model_given, dataclasses.asdict(model))
    kept = dataclasses.asdict(saved.train)
    differ += _differences({k: v for k, v in train_given.items() if k not in RESUMABLE}, kept)
    preset = request.preset_name(None)
    if preset:
        asked = model_config(model.name, preset, vocab_size=model.vocab_size, **model_given)
        implied = {k: v for k, v in dataclasses.asdict(asked).items() if k not in model_given}
        differ += _differences(implied, dataclasses.asdict(model))
    if differ:
        unique = list(dict.fromkeys(differ))
        raise ConfigError(
            f"{out}: a resumed run keeps its settings ({'; '.join(unique)}); only "
            f"{', '.join(sorted(RESUMABLE))} may change"
        )
    changes = {k: v for k, v in train_given.items() if k in RESUMABLE}
    train = dataclasses.replace(saved.train, **changes)
    return RunConfig(model=model, codec=saved.codec, train=train, dataset=dataset)


# -- helpers ---------------------------------------------------------------------------------------
def _checked_options(request: RunRequest, model_name: str) -> dict[str, Any]:
    """The command-line settings, every name checked: a training setting or one of the model's."""
    known = [*_TRAIN_FIELDS, *setting_names(model_name)]
    models = ", ".join(flag(name) for name in setting_names(model_name))
    check_known(
        request.options,
        known,
        owner=f"a {model_name} run",
        hint=f"model settings: {models}; training settings: see continuo train --help",
    )
    return dict(request.options)


def _differences(given: Mapping[str, Any], kept: Mapping[str, Any]) -> list[str]:
    """``"key is KEPT in the run, GIVEN given"`` for each given value (converted to the kept
    value's type) that differs from the kept one."""
    differ = []
    for key, value in given.items():
        before = kept.get(key)
        kind = type(before).__name__ if before is not None else None
        now = convert(value, kind, key) if kind else value
        if now != before:
            differ.append(f"{key} is {before!r} in the run, {now!r} given")
    return differ


def _must_agree(given: Mapping[str, Any], kept: Mapping[str, Any], *, what: str) -> None:
    """A :class:`ConfigError` when a model setting ``given`` differs from the ``kept`` one."""
    differ = _differences(given, kept)
    if differ:
        raise ConfigError(f"{what} is fixed ({'; '.join(differ)})")


def _nothing_to_resume(out: Path, dataset: DatasetInfo, label: str) -> ConfigError:
    """The error of ``--resume`` on a run folder without a resumable ``last`` checkpoint."""
    what = "no such run folder" if not out.exists() else "no checkpoint to resume yet"
    return ConfigError(
        f"{label}: {what} (last/ is written after a few minutes of training and at each "
        f"epoch's end); start the run without --resume: continuo train {dataset.path or 'DATASET'} "
        f"--out {label} ..."
    )
