"""Audio extension and continuation: ``structure`` (replay the recording's own beats along seamless
jumps), ``neural`` (a small model continues it) and ``melody`` (new notes from a melody model in
the recording's own sound); see :mod:`continuo.audio.structure`, :mod:`continuo.audio.neural` and
:mod:`continuo.audio.melody`. :func:`transcribe` turns a take of one voice or instrument into a
melody (:mod:`continuo.audio.transcription`). :class:`Extender` (:mod:`continuo.audio.extender`) is the one front
object the command line, the app and the benchmarks call.

Names load lazily (PEP 562): importing a submodule such as ``continuo.audio.neural.config`` (as
the command line does to build its parser) does not load librosa, numba or torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ENDINGS",
    "MAX_DURATION_S",
    "MIN_INPUT_S",
    "Extender",
    "Extension",
    "Splice",
    "StructureConfig",
    "Transcription",
    "ending_label",
    "extend_melody",
    "extend_structure",
    "transcribe",
    "transcribe_file",
]

_WHERE = {
    "ENDINGS": "extender",
    "Extender": "extender",
    "ending_label": "extender",
    "MAX_DURATION_S": "extension",
    "MIN_INPUT_S": "extension",
    "Extension": "extension",
    "Splice": "extension",
    "StructureConfig": "structure",
    "extend_structure": "structure",
    "Transcription": "transcription",
    "transcribe": "transcription",
    "transcribe_file": "transcription",
    "extend_melody": "melody",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'continuo.audio' has no attribute {name!r}")
    return getattr(importlib.import_module(f"continuo.audio.{_WHERE[name]}"), name)
