"""The front object: a trained model + its codec, continuing seeds or writing from scratch.

>>> generator = Generator.from_pretrained("folk")            # the bundled model, or a run folder
>>> [out] = generator.generate_continuation("67 _ 67 _ 65 64 _ r", steps=64, rng_seed=1)
>>> out.save("continuo-output", "melody")                     # MIDI, MusicXML, WAV, PNG

Decoding is incremental: the seed is consumed in one ``prefill`` and every new token costs one
``step`` of the model (an RNN state or a KV cache), never a re-run of the window. The seed is
kept verbatim at the start of the output, and the output comes back in the seed's key (the
melody codec transposes to C major / A minor for the model, and the output is moved back), meter
and tempo.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import symusic
import torch

from continuo.codecs.melody import parse_melody_text
from continuo.device import pick_device
from continuo.errors import ConfigError, SeedError
from continuo.generation.sampling import Sampling, sample_next
from continuo.generation.seeds import (
    encode_seed,
    length_in_steps,
    seed_from_file,
    seed_from_text,
    seed_meter,
    steps_to_bar_line,
)
from continuo.models import LanguageModel
from continuo.progress import progress_bar
from continuo.score import Score
from continuo.training.checkpoint import load_checkpoint
from continuo.training.run_config import RunConfig

__all__ = ["FORMATS", "MAX_OUTPUTS", "Continuation", "Generator"]

#: The most outputs one call writes (they are sampled as one batch, held in memory together).
MAX_OUTPUTS = 256

#: What a :class:`Continuation` renders to, by name.
FORMATS = ("midi", "musicxml", "wav", "png")


@dataclass
class Continuation:
    """One generated piece: the seed (verbatim) followed by what the model wrote."""

    score: Score
    seed_end: int
    """Tick at which the continuation starts (0 when there was no seed)."""
    tokens: list[str] = field(default_factory=list)
    """The generated tokens, continuation only, in the codec's vocabulary and in the output's
    key: the notes they name are the notes of :attr:`score` after ``seed_end`` (a transposing
    codec's model works in C major / A minor; its tokens are moved back with the notes)."""

    def render(
        self, stem: str = "continuo", *, formats: Sequence[str] = FORMATS
    ) -> dict[str, bytes]:
        """The piece as the bytes of each of ``formats`` (any of :data:`FORMATS`): a MIDI file,
        a MusicXML file titled ``stem``, a WAV rendering and a piano-roll PNG (the seed and the
        continuation in their colours), by format name, in the order asked."""
        from continuo.io.midi import midi_bytes
        from continuo.io.musicxml import musicxml_bytes
        from continuo.io.render import pianoroll_png_bytes, wav_bytes

        makers: dict[str, Callable[[], bytes]] = {
            "midi": lambda: midi_bytes(self.score),
            "musicxml": lambda: musicxml_bytes(self.score, title=stem),
            "wav": lambda: wav_bytes(self.score),
            "png": lambda: pianoroll_png_bytes(
                self.score, seed_end_tick=self.seed_end or None, title=stem
            ),
        }
        unknown = [name for name in formats if name not in makers]
        if unknown:
            raise ConfigError(
                f"no output format {', '.join(unknown)} (formats: {', '.join(FORMATS)})"
            )
        return {name: makers[name]() for name in formats}

    def save(
        self, folder: str | os.PathLike[str], stem: str, *, midi_suffix: str = ".mid"
    ) -> dict[str, Path]:
        """Write :meth:`render`'s files into ``folder`` (made when missing) as ``stem.mid`` (or
        ``midi_suffix``), ``.musicxml``, ``.wav`` and ``.png``, each atomically; returns their
        paths by format. :class:`ConfigError` when ``folder`` exists as a file."""
        from continuo.atomic import write_bytes

        folder = Path(folder)
        for candidate in (folder, *folder.parents):
            if candidate.exists():
                if not candidate.is_dir():
                    raise ConfigError(f"{folder}: {candidate} is a file, not a folder")
                break
        suffixes = {"midi": midi_suffix, "musicxml": ".musicxml", "wav": ".wav", "png": ".png"}
        paths = {}
        for name, data in self.render(stem).items():
            paths[name] = folder / f"{stem}{suffixes[name]}"
            write_bytes(paths[name], data)
        return paths


class Generator:
    """A model and its codec, ready to generate; see the module docstring."""

    def __init__(self, model: LanguageModel, run: RunConfig) -> None:
        """``model`` (weights loaded) and the settings of the run that trained it."""
        self.model, self.run, self.codec = model, run, run.codec
        self.device = next(model.parameters()).device
        #: Tokens the model sees: the window it was trained on.
        self.context = run.context
        #: Whether the model predicts from whole windows (re-run for each token), not a state.
        self.window_objective = run.window_objective

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike[str] = "folk", *, device: str = "auto"
    ) -> Generator:
        """Load a bundled model by name (``folk``) or a run folder / checkpoint folder."""
        model, _, run = load_checkpoint(name_or_path, device=pick_device(device))
        return cls(model, run)

    @property
    def steps_per_quarter(self) -> int:
        return self.codec.steps_per_quarter

    # -- public --------------------------------------------------------------------------------
    def generate(self, **options: Any) -> list[Continuation]:
        """New pieces from scratch; takes the options of :meth:`generate_continuation`."""
        return self.generate_continuation(None, **options)

    def generate_continuation(
        self,
        seed: Score | str | os.PathLike[str] | None,
        *,
        steps: int | None = None,
        bars: float | None = None,
        seconds: float | None = None,
        num_outputs: int = 1,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        rng_seed: int | None = None,
        stop_at_end: bool = False,
        last_bars: int | None = None,
        progress: bool = False,
    ) -> list[Continuation]:
        """Continue ``seed`` by ``steps`` grid steps, ``bars`` bars or ``seconds`` seconds.

        ``seed``: a :class:`Score`, melody text (``"67 _ 65 64"``, ``"[67, -2, 65]"``,
        ``"G4 _ F4 E4"``), a path to a MIDI/kern/ABC/MusicXML file (of which only the last
        ``last_bars`` bars are used when given), or ``None`` to start from nothing.
        With ``stop_at_end`` a piece may end earlier, where the model writes the song end.
        A length beyond :data:`~continuo.generation.seeds.MAX_STEPS` grid steps, or more than
        :data:`MAX_OUTPUTS` outputs, is a :class:`ConfigError`. ``progress`` shows a bar on
        standard error (a line every few seconds when that is not a terminal).
        """
        sampling = Sampling(temperature, top_k, top_p, rng_seed)
        if isinstance(num_outputs, bool) or not isinstance(num_outputs, int):
            raise ConfigError(f"the number of outputs must be an integer, got {num_outputs!r}")
        if not 1 <= num_outputs <= MAX_OUTPUTS:
            raise ConfigError(
                f"the number of outputs must be 1 to {MAX_OUTPUTS}, got {num_outputs} "
                "(for more, generate in several calls)"
            )
        if steps is None and bars is None and seconds is None:
            steps = 16 * self.steps_per_quarter
        seed_score, seed_ids, shift = self._encode_seed(seed, last_bars)
        meter = seed_meter(seed_score)
        n_steps = length_in_steps(
            steps=steps,
            bars=bars,
            seconds=seconds,
            steps_per_quarter=self.steps_per_quarter,
            time_signature=meter.time_signature,
            qpm=meter.qpm,
        )
        if bars is not None:  # end on a bar line, whatever part of a bar the seed fills
            seed_end = self._seed_span(seed_score, seed_ids)[1] if seed_score is not None else 0
            n_steps = steps_to_bar_line(seed_score, seed_end, n_steps, self.steps_per_quarter)
        prompt = [self.codec.separator_id, *seed_ids]
        generated = self._sample(
            prompt,
            quarters=n_steps / self.steps_per_quarter,
            batch=num_outputs,
            sampling=sampling,
            mask=self._allowed(shift, stop_at_end),
            progress=progress,
        )
        return [self._assemble(seed_score, seed_ids, new, shift) for new in generated]

    def note_continuer(self, **options: Any) -> Callable[[Score, float], tuple[Score, int]]:
        """``continue_notes(seed, seconds) -> (seed and continuation, tick where it starts)``:
        this model as the melody extension method wants it (:mod:`continuo.audio.melody`);
        ``options`` are :meth:`generate_continuation`'s sampling options."""

        def continue_notes(seed: Score, seconds: float) -> tuple[Score, int]:
            [piece] = self.generate_continuation(seed, seconds=seconds, **options)
            return piece.score, piece.seed_end

        return continue_notes

    # -- internals -----------------------------------------------------------------------------
    def _encode_seed(self, seed: Any, last_bars: int | None) -> tuple[Score | None, list[int], int]:
        """The seed as a score (kept verbatim in the output), its token ids, and the semitones
        the codec moved it by (to C major / A minor for a transposing melody codec)."""
        if seed is None:
            return None, [], 0
        text = "" if isinstance(seed, Score) else os.fspath(seed)
        is_file = isinstance(seed, os.PathLike) or (Path(text).suffix and Path(text).is_file())
        if isinstance(seed, Score) or is_file:
            score = seed if isinstance(seed, Score) else seed_from_file(text, last_bars=last_bars)
            ids = encode_seed(self.codec, score, text or "the seed score")
            return score, ids, self.codec.transposition(score)
        if not self.codec.text_seed:
            raise SeedError(
                f"a text seed is for melody models; this model uses the {self.codec.name!r} "
                "codec, so give a seed file (MIDI, kern, ABC or MusicXML)"
            )
        # the tokens as written (trailing rests and holds included), moved like a file would be
        score = seed_from_text(text, codec=self.codec)
        shift = self.codec.transposition(score)
        ids = np.asarray(self.codec.tokens_to_ids(parse_melody_text(text)), dtype=np.int64)
        if shift:
            ids = self.codec.pitch_shift_table(shift)[ids]
            if (ids < 0).any():
                raise SeedError(f"seed {text!r} leaves the pitch range when moved to C")
        return score, ids.tolist(), shift

    @torch.no_grad()
    def _allowed(self, shift: int, stop_at_end: bool) -> torch.Tensor:
        """Bool ``[V]``: the tokens the sampler may choose.

        The separator only with ``stop_at_end``; no pitch that moving back to the seed's key
        (by ``-shift``) would push out of MIDI's 0..127.
        """
        mask = torch.ones(self.codec.vocab_size, dtype=torch.bool)
        mask[self.codec.separator_id] = stop_at_end
        table = self.codec.pitch_shift_table(-shift) if shift else None
        if table is not None:
            mask &= torch.as_tensor(table >= 0)
        return mask.to(self.device)

    def _sample(
        self,
        prompt: list[int],
        *,
        quarters: float,
        batch: int,
        sampling: Sampling,
        mask: torch.Tensor,
        progress: bool = False,
    ) -> list[list[int]]:
        """Sample ``batch`` continuations of ``prompt`` lasting ``quarters`` quarter notes,
        choosing among the tokens ``mask`` allows as ``sampling`` says.

        Each row's length comes from the codec's :meth:`~continuo.codecs.base.Codec.length_counter`
        fed one token at a time (constant time per token for the grid and event codecs), so
        beyond the tokens written nothing grows with the length; the model's state is bounded by
        its context. The progress bar counts the grid steps of the slowest row still writing.
        """
        sep = self.codec.separator_id
        generator = sampling.generator(self.device)
        x = torch.tensor([prompt[-self.context :]] * batch, device=self.device)
        incremental = self.model.causal and not self.window_objective
        if incremental:
            logits, state = self.model.prefill(x)
            logits = logits[:, -1]
        else:
            logits = self.model(x)[0][:, -1]
        outputs: list[list[int]] = [[] for _ in range(batch)]
        running = list(range(batch))
        # a row that writes this many tokens without moving time on is stuck: stop it
        stall = self.codec.vocab_size + 64
        lengths, idle = [0.0] * batch, [0] * batch
        counters = [self.codec.length_counter() for _ in range(batch)]
        spq = self.steps_per_quarter
        total = max(1, round(quarters * spq))
        bar = progress_bar(
            total=total, desc="generating", unit="step", enabled=progress, leave=False
        )
        while running:
            tokens = sample_next(
                logits,
                temperature=sampling.temperature,
                top_k=sampling.top_k,
                top_p=sampling.top_p,
                mask=mask,
                generator=generator,
            )
            for row in running[:]:
                token = int(tokens[row])
                if token == sep:
                    running.remove(row)
                    continue
                outputs[row].append(token)
                length = counters[row](token)
                idle[row] = 0 if length > lengths[row] else idle[row] + 1
                lengths[row] = length
                if length >= quarters or idle[row] > stall:
                    running.remove(row)
            if running:
                bar.update(min(total, round(min(lengths[r] for r in running) * spq)) - bar.n)
            else:
                bar.update(total - bar.n)
                break
            if incremental:
                logits, state = self.model.step(tokens, state)
            else:
                x = torch.cat([x, tokens[:, None]], dim=1)[:, -self.context :]
                logits = self.model(x)[0][:, -1]
        bar.close()
        return outputs

    def _seed_span(self, seed: Score, seed_ids: list[int]) -> tuple[int, int]:
        """``(offset, seed_end)`` in ``seed``'s ticks: where the seed's decoded tokens go (a codec
        may drop the silence before the first note: the tokens are put back there) and where
        the continuation starts."""
        tpq = seed.ticks_per_quarter
        decoded_seed = self.codec.decode(seed_ids)
        offset = seed.start() - round(decoded_seed.start() * tpq / decoded_seed.ticks_per_quarter)
        return offset, offset + round(self.codec.length_in_quarters(seed_ids) * tpq)

    def _assemble(
        self, seed: Score | None, seed_ids: list[int], new_ids: list[int], shift: int
    ) -> Continuation:
        """The seed verbatim, then the notes that start after it, moved back to its key."""
        full = self.codec.decode([*seed_ids, *new_ids])
        if shift:
            full = full.shift_pitch(-shift)
        # the tokens name the output's notes: in the seed's key, like the score
        table = self.codec.pitch_shift_table(-shift) if shift else None
        tokens = self.codec.ids_to_tokens(
            table[np.asarray(new_ids, dtype=np.int64)].tolist() if table is not None else new_ids
        )
        if seed is None:
            return Continuation(full, 0, tokens)
        tpq = seed.ticks_per_quarter
        full = full.resample(tpq, min_dur=1) if full.ticks_per_quarter != tpq else full
        offset, seed_end = self._seed_span(seed, seed_ids)
        full = full.shift_time(offset) if offset else full
        out = seed.copy()
        for track in full.tracks:
            target = _matching_track(out, track)
            for note in track.notes:
                if note.time >= seed_end:
                    target.notes.append(note.copy())
                elif note.end > seed_end:  # a seed note the model holds on: lengthen it
                    _lengthen(target, note, seed_end, tolerance=tpq // self.steps_per_quarter // 2)
            target.notes.sort()
        return Continuation(out, seed_end, tokens)


def _matching_track(score: Score, like: symusic.core.TrackTick) -> symusic.core.TrackTick:
    """The track of ``score`` with ``like``'s program and drum flag (appended if none)."""
    for track in score.tracks:
        if track.program == like.program and track.is_drum == like.is_drum:
            return track
    score.tracks.append(symusic.Track(like.name, like.program, like.is_drum))
    return score.tracks[-1]


def _lengthen(
    track: symusic.core.TrackTick, held: symusic.core.NoteTick, seed_end: int, tolerance: int
) -> None:
    """Extend the seed note of ``held``'s pitch that sounds at the seed's end to ``held.end``.

    "Sounds at the end": it ends at ``seed_end`` or within ``tolerance`` ticks before it (half a
    grid step; a seed read from a file need not end exactly on the codec's grid).
    """
    for note in reversed(track.notes):
        if note.pitch == held.pitch and note.time < seed_end <= note.end + tolerance:
            note.duration = max(note.duration, held.end - note.time)
            return
