"""continuo: learn the style of a body of music and continue any seed you give it."""

__version__ = "0.1.0"
