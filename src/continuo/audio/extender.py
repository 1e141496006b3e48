"""The front object for audio: :class:`Extender` plays for recordings the part that
:class:`continuo.generation.Generator` plays for symbolic music.

The command line (``continuo extend``), the web app's Audio page and the benchmarks all call it::

    extender = Extender.load("neural", "runs/audio", temperature=0.3)  # a bad model fails here
    audio = extender.read("song.ogg")                                  # read and checked
    result = extender.extend(audio, 90.0, name="song.ogg")             # an Extension
    extender.write(result, "long.flac", like=audio)                    # atomically, input's depth

The methods are a registry (:data:`METHODS`: name -> what it needs); how an extension ends is
described by :func:`ending_label`, the one place that names the endings (:data:`ENDINGS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from continuo.audio.extension import Extension, check_duration, check_input, is_silent
from continuo.errors import ConfigError
from continuo.io.audio import Audio, check_writable, read_audio, write_audio

__all__ = ["ADVICE", "ENDINGS", "METHODS", "Extender", "describe", "ending_label"]

#: The extension methods, each with the model it needs: none, an audio model (a run of
#: ``continuo train-audio``), or a melody model (a note continuer:
#: :meth:`continuo.generation.Generator.note_continuer`).
METHODS: dict[str, str | None] = {"structure": None, "neural": "audio", "melody": "melody"}

#: When each method is the right one, in words the command line and the app show.
ADVICE = {
    "structure": "music with a groove or harmony: replays the recording's own beats along "
    "seamless jumps, writes no new notes",
    "neural": "textures and sounds without clear notes: a model trained on the recording "
    "continues its sound",
    "melody": "one voice or instrument (singing, humming, a flute, a trumpet): new notes from a "
    "melody model, played in the recording's own sound",
}

#: How an :class:`~continuo.audio.extension.Extension` ends, in words (``Extension.ending``).
ENDINGS = {"song": "its own ending", "fade": "a fade-out", "original": "unchanged"}


def ending_label(ending: str) -> str:
    """``"its own ending"`` for ``"song"`` and so on (the name itself when unknown)."""
    return ENDINGS.get(ending, ending)


@dataclass
class Extender:
    """An extension method, with its model and settings, ready to extend recordings.

    ``model`` is the loaded audio model (``neural``) or the note continuer (``melody``);
    ``temperature``, ``seed`` and ``threads`` are the neural method's sampling temperature,
    random seed and torch threads.
    """

    method: str = "structure"
    model: Any = None
    temperature: float = 0.3
    seed: int = 0
    threads: int | None = 1

    @classmethod
    def load(
        cls,
        method: str = "structure",
        model: str | os.PathLike[str] | Any = None,
        **settings: Any,
    ) -> Extender:
        """An extender for ``method``; ``model`` (a run folder or a loaded model) is loaded now,
        so that a bad model folder fails before any work. :class:`ConfigError` when the method is
        unknown, needs a model and has none, or has one it does not use."""
        if method not in METHODS:
            raise ConfigError(f"unknown extension method {method!r} (one of {', '.join(METHODS)})")
        needs = METHODS[method]
        if needs == "audio" and model is None:
            raise ConfigError(
                f"the {method} method needs an audio model (--model RUN_DIR; make one with "
                "continuo train-audio)"
            )
        if needs == "melody" and not callable(model):
            raise ConfigError("the melody method needs a melody model's note continuer")
        if needs is None and model is not None:
            raise ConfigError("a model (--model) is only used with the neural and melody methods")
        if needs == "audio" and isinstance(model, (str, os.PathLike)):
            from continuo.audio.neural.checkpoint import load_model

            model = load_model(model)
        return cls(method, model, **settings)

    @staticmethod
    def read(path: str | os.PathLike[str], name: str | None = None) -> Audio:
        """The recording at ``path``, checked (:func:`.check_input`; errors name ``name``)."""
        audio = read_audio(path)
        check_input(audio, name or str(path))
        return audio

    def extend(
        self,
        audio: Audio,
        duration: float,
        *,
        name: str = "input",
        progress: bool | None = None,
    ) -> Extension:
        """``audio`` made exactly ``duration`` seconds long by this extender's method."""
        duration = check_duration(duration)
        check_input(audio, name)
        if self.method == "melody":
            from continuo.audio.melody import extend_melody

            return extend_melody(audio, duration, self.model, name=name, progress=progress)
        if self.method == "neural":
            from continuo.audio.neural.generate import extend_neural

            return extend_neural(
                audio,
                duration,
                self.model,
                temperature=self.temperature,
                seed=self.seed,
                name=name,
                progress=progress,
                threads=self.threads,
            )
        from continuo.audio.structure import extend_structure

        return extend_structure(audio, duration, name=name, progress=progress)

    @staticmethod
    def write(result: Extension, path: str | os.PathLike[str], *, like: Audio) -> Path:
        """Write ``result`` to ``path`` atomically, at the bit depth of ``like`` (the input)."""
        return write_audio(path, result.samples, result.sample_rate, subtype=like.subtype)

    def extend_file(
        self,
        source: str | os.PathLike[str],
        out: str | os.PathLike[str],
        duration: float,
        *,
        name: str | None = None,
        progress: bool | None = None,
        warn: Any = None,
    ) -> tuple[Extension, Audio]:
        """Read ``source``, extend it to ``duration`` seconds and write ``out``; returns the
        extension and the input. ``warn(text)`` hears about a silent input."""
        name = name or str(source)
        duration = check_duration(duration)
        check_writable(out)
        audio = self.read(source, name)
        check_writable(out, audio.sample_rate)
        if warn is not None and is_silent(audio.samples):
            warn(f"{name} is silent; so is the output")
        result = self.extend(audio, duration, name=name, progress=progress)
        self.write(result, out, like=audio)
        return result, audio


def describe(result: Extension, input_duration: float | None = None) -> str:
    """One line about ``result``: its length, splices, ending and any silence trimmed."""
    start = result.input_duration if input_duration is None else input_duration
    text = (
        f"{result.duration:.2f} s from {start:.2f} s, {len(result.splices)} splice(s), "
        f"ends with {ending_label(result.ending)}"
    )
    lead = result.details.get("trimmed_start_seconds", 0.0)
    tail = result.details.get("trimmed_end_seconds", 0.0)
    if lead or tail:
        text += (
            f"; silence trimmed before continuing: {lead:.2f} s at the start, "
            f"{tail:.2f} s at the end"
        )
    return text
