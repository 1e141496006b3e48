"""Training an audio continuation model from one recording or a folder of them, on a CPU.

Every step draws its batch from ``numpy.random.default_rng([seed, step])`` and seeds torch with
``seed`` and ``step``, so a run resumed from a checkpoint makes exactly the batches (and, on the
same machine, the weights) the uninterrupted run would have made. The learning rate follows a
cosine from ``lr`` down to ``lr / 10`` over ``steps``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from continuo.audio.extension import is_silent, sound_bounds
from continuo.audio.neural.checkpoint import (
    MODEL_NAME,
    load_model,
    load_training_state,
    read_config,
    save_checkpoint,
    write_config,
)
from continuo.audio.neural.config import AudioModelConfig, AudioTrainConfig
from continuo.audio.neural.features import FeatureConfig, features_for_rate, log_mel
from continuo.audio.neural.models import AUDIO_MODELS, build_audio_model
from continuo.audio.neural.runtime import DEFAULT_THREADS, torch_threads
from continuo.checkpoint_io import warmup_cosine
from continuo.errors import ConfigError, ContinuoError, ReadError
from continuo.io.audio import read_audio, resample, to_mono
from continuo.progress import progress_bar

__all__ = [
    "AUDIO_EXTENSIONS",
    "RESUMABLE",
    "TrainResult",
    "find_audio_files",
    "resumed_configs",
    "train_audio",
]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")

#: Training settings a resumed run may change; every other setting is the run's own.
RESUMABLE = ("steps", "checkpoint_every")


@dataclass
class TrainResult:
    """What a training run did: the last ``step``, the mean loss per step, the sources used and
    those skipped (``(path, reason)``)."""

    run_dir: Path
    step: int
    history: list[float]
    used: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def find_audio_files(sources: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named directly, plus audio files (by extension) anywhere under named folders, sorted;
    :class:`ReadError` for a path that does not exist."""
    found: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS))
        elif path.exists():
            found.append(path)
        else:
            raise ReadError(path, "no such file or folder")
    return found


def load_corpus(
    files: list[Path], features: FeatureConfig, exclude_tail: float, min_seconds: float
) -> tuple[list[torch.Tensor], list[str], list[tuple[str, str]]]:
    """Log-mel frames ``(n_frames, n_mels)`` of each usable file, with the files used and skipped.

    The silence at the start and end of each file (after holding out ``exclude_tail`` seconds) is
    trimmed (:func:`~continuo.audio.extension.sound_bounds`): a model trained on a recording
    that ends in silence would learn that the music is followed by silence, and continue with it.
    A file is skipped (with the reason) when it cannot be read, is silent, or is shorter than
    ``min_seconds`` once ``exclude_tail`` seconds are held out and its silence trimmed."""
    corpus: list[torch.Tensor] = []
    used: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path in files:
        try:
            audio = read_audio(path)
        except ContinuoError as error:
            skipped.append((str(path), getattr(error, "reason", str(error))))
            continue
        mono = to_mono(audio.samples)
        if exclude_tail > 0:
            mono = mono[: max(mono.shape[0] - int(exclude_tail * audio.sample_rate), 0)]
        whole = mono.shape[0]
        if not is_silent(mono):
            start, end = sound_bounds(mono, audio.sample_rate)
            mono = mono[start:end]
        if mono.shape[0] < min_seconds * audio.sample_rate:
            reason = f"shorter than the {min_seconds:.1f} s a training example needs"
            if whole >= min_seconds * audio.sample_rate:  # long enough only with its silence
                reason = (
                    f"only {mono.shape[0] / audio.sample_rate:.1f} s of sound between the silence "
                    f"at its ends, and a training example needs {min_seconds:.1f} s (a smaller "
                    "--context and --horizon, or --arch frame_rnn, need less)"
                )
            skipped.append((str(path), reason))
            continue
        if is_silent(mono):
            skipped.append((str(path), "silent"))
            continue
        y = resample(mono, audio.sample_rate, features.sample_rate)
        corpus.append(log_mel(y, features)[:-2])  # the last frames overlap the zero padding
        used.append(str(path))
    return corpus, used, skipped


def resumed_configs(
    run_dir: str | os.PathLike[str],
    model_changes: dict[str, Any] | None = None,
    train_changes: dict[str, Any] | None = None,
) -> tuple[AudioModelConfig, AudioTrainConfig]:
    """The model and training settings of the run in ``run_dir``, with ``train_changes`` to the
    settings a resumed run may change (:data:`RESUMABLE`).

    Any other setting given must equal the run's; one that does not is a :class:`ConfigError`
    naming it. A folder without a model is a :class:`ConfigError` that says how to start.
    """
    run_dir = Path(run_dir)
    if not (run_dir / MODEL_NAME).exists():
        raise ConfigError(
            f"{run_dir}: no model to resume yet (the first is written after --checkpoint-every "
            "steps); start it without --resume"
        )
    saved = read_config(run_dir)
    model = AudioModelConfig.from_json(saved["model"])
    train = AudioTrainConfig(
        **{k: v for k, v in saved["train"].items() if k in AudioTrainConfig.__dataclass_fields__}
    )
    differ = [
        f"{key} is {getattr(kept, key)!r} in the run, {value!r} given"
        for kept, changes in ((model, model_changes or {}), (train, train_changes or {}))
        for key, value in changes.items()
        if key not in RESUMABLE and value != getattr(kept, key)
    ]
    if differ:
        raise ConfigError(
            f"{run_dir}: a resumed run keeps its settings ({'; '.join(differ)}); only "
            f"{' and '.join('--' + k.replace('_', '-') for k in RESUMABLE)} may change"
        )
    resumable = {k: v for k, v in (train_changes or {}).items() if k in RESUMABLE}
    return model, replace(train, **resumable)


def train_audio(
    sources: Iterable[str | os.PathLike[str]],
    run_dir: str | os.PathLike[str],
    model_config: AudioModelConfig | None = None,
    train_config: AudioTrainConfig | None = None,
    features: FeatureConfig | None = None,
    *,
    resume: bool = False,
    progress: bool | None = None,
    threads: int | None = DEFAULT_THREADS,
    log: Callable[[str], None] = lambda _: None,
    on_checkpoint: Callable[[], None] = lambda: None,
) -> TrainResult:
    """Train (or with ``resume`` continue training) a model in ``run_dir`` on ``sources``.

    On resume the model, features and training settings come from ``run_dir/config.json``
    (configs left None are the run's own); configs given may differ from the run's only in
    ``steps`` (the total to reach) and ``checkpoint_every``, else :class:`ConfigError`.
    ``features`` None: chosen from the sources' sample rate
    (:func:`.features.features_for_rate`). ``threads``: torch threads (see :mod:`.runtime`).
    ``progress``: a bar on a terminal, a line every few seconds elsewhere; False: none.
    ``on_checkpoint`` is called after each checkpoint is written (a run in object storage
    publishes it: :class:`continuo.storage.Mirror`).
    """
    if resume:
        model_config, train_config = resumed_configs(
            run_dir,
            asdict(model_config) if model_config else None,
            asdict(train_config) if train_config else None,
        )
    model_config = model_config or AudioModelConfig()
    train_config = train_config or AudioTrainConfig()
    with torch_threads(threads):
        return _train(
            sources,
            Path(run_dir),
            model_config,
            train_config,
            features,
            resume,
            progress,
            log,
            on_checkpoint,
        )


def _train(
    sources, run_dir, model_config, train_config, features, resume, progress, log, on_checkpoint
):
    has_model = (run_dir / MODEL_NAME).exists()
    if has_model and not resume:
        raise ConfigError(f"{run_dir} already holds a model; pass --resume or choose a new --out")
    if resume:
        saved_features = FeatureConfig.from_json(read_config(run_dir)["features"])
        if features is not None and features != saved_features:
            raise ConfigError(f"{run_dir}: a resumed run keeps its audio features")
        features = saved_features
    s = model_config.stack
    need = AUDIO_MODELS[model_config.arch].example_length(model_config, train_config.window) * s
    files = find_audio_files(sources)
    if features is None:
        features = features_for_rate(_highest_rate(files))
    min_seconds = (need + 2) / features.frames_per_second
    corpus, used, skipped = load_corpus(files, features, train_config.exclude_tail, min_seconds)
    for path, reason in skipped:
        log(f"skipped {path}: {reason}")
    if not corpus:
        what = "; ".join(f"{p}: {r}" for p, r in skipped[:3]) or "no audio files found"
        raise ConfigError(f"no usable training audio ({what})")

    if resume:
        loaded = load_model(run_dir)
        model = loaded.model
    else:
        torch.manual_seed(train_config.seed)
        model = build_audio_model(model_config)
        stacked = torch.cat(corpus)
        model.mean.copy_(stacked.mean(dim=0))
        model.std.copy_(stacked.std(dim=0).clamp_min(1e-3))
        normalised = (stacked - model.mean) / model.std
        model.low.copy_(normalised.min(dim=0).values)
        model.high.copy_(normalised.max(dim=0).values)
        write_config(
            run_dir,
            {
                "features": features.to_json(),
                "model": model_config.to_json(),
                "train": train_config.to_json(),
                "sources": used,
            },
        )
    supers = [model.normalise(frames) for frames in corpus]  # (n, width) each
    lengths = np.array([x.shape[0] for x in supers], dtype=np.float64)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=train_config.lr)
    start, history = 0, []
    if resume:
        state = load_training_state(run_dir, optimizer)
        if state is not None:
            history = state[1][: loaded.step]
        start = loaded.step
    total = train_config.steps
    with progress_bar(
        total=total, initial=start, desc="train-audio", unit="step", enabled=progress
    ) as bar:
        for step in range(start, total):
            _set_lr(optimizer, train_config, step)
            rng = np.random.default_rng([train_config.seed, step])
            torch.manual_seed(train_config.seed * 1_000_003 + step)
            loss = _loss(
                model,
                _batch(supers, lengths, need // s, train_config.batch, rng),
                train_config.input_noise,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            history.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]:.3f}")
            if (step + 1) % train_config.checkpoint_every == 0 or step + 1 == total:
                _update_residual_scale(model, supers, lengths, need // s, train_config)
                save_checkpoint(run_dir, model, optimizer, step + 1, history)
                on_checkpoint()
    model.eval()
    return TrainResult(run_dir, max(total, start), history, used, skipped)


def _highest_rate(files: list[Path]) -> int:
    """The highest sample rate among the readable ``files`` (22,050 when none is readable)."""
    import soundfile as sf

    rates = []
    for path in files:
        try:
            rates.append(int(sf.info(str(path)).samplerate))
        except (sf.LibsndfileError, RuntimeError, OSError):
            continue
    return max(rates, default=22_050)


def _set_lr(optimizer: torch.optim.Optimizer, config: AudioTrainConfig, step: int) -> None:
    """The shared schedule (:func:`continuo.checkpoint_io.warmup_cosine`): a cosine from ``lr``
    down to ``lr / 10`` over ``steps``, no warm-up."""
    lr = warmup_cosine(step, config.steps, config.lr, config.lr / 10)
    for group in optimizer.param_groups:
        group["lr"] = lr


def _batch(
    supers: list[torch.Tensor], lengths: np.ndarray, need: int, batch: int, rng: np.random.Generator
) -> torch.Tensor:
    """``(batch, need, width)`` windows drawn uniformly over all positions of all sources."""
    room = np.maximum(lengths - need, 0) + 1
    which = rng.choice(len(supers), size=batch, p=room / room.sum())
    starts = (rng.random(batch) * room[which]).astype(np.int64)
    return torch.stack([supers[w][a : a + need] for w, a in zip(which, starts, strict=True)])


def _loss(model: torch.nn.Module, windows: torch.Tensor, noise: float) -> torch.Tensor:
    """Mean L1 between predicted and true super-frames (the model's warm-up steps left out)."""
    errors = model.errors(windows, noise)
    return errors[:, min(model.warmup, errors.shape[1] - 1) :].mean()


@torch.no_grad()
def _update_residual_scale(model, supers, lengths, need: int, config: AudioTrainConfig) -> None:
    """Set ``model.residual_scale`` to the mean absolute one-step error per feature (the Laplace
    scale), measured on 4 fixed batches without input noise."""
    model.eval()
    cfg = model.config
    errors = []
    for k in range(4):
        windows = _batch(supers, lengths, need, config.batch, np.random.default_rng([7919, k]))
        errors.append(model.errors(windows))
    model.residual_scale.copy_(torch.cat([e.reshape(-1, cfg.width) for e in errors]).mean(dim=0))
    model.train()
