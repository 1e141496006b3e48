"""Generation: the :class:`Generator` front object, sampling, and seeds."""

from continuo.generation.generator import Continuation, Generator

__all__ = ["Continuation", "Generator"]
