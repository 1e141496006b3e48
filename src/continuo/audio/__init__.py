"""Audio extension and continuation: ``structure`` (replay the recording's own beats along seamless
jumps) and ``neural`` (a small model continues it); see :mod:`continuo.audio.structure` and
:mod:`continuo.audio.neural`. Heavy modules (librosa, torch) load only when used."""

from continuo.audio.extension import MAX_DURATION_S, MIN_INPUT_S, Extension, Splice
from continuo.audio.structure import StructureConfig, extend_structure

__all__ = [
    "MAX_DURATION_S",
    "MIN_INPUT_S",
    "Extension",
    "Splice",
    "StructureConfig",
    "extend_structure",
]
