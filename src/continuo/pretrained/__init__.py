"""Models that ship inside the package, so that generation works right after install.

Each is a checkpoint folder beside this file (``model.safetensors``, ``config.json``,
``MODEL_CARD.md``), rebuilt by ``make pretrained``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["PRETRAINED", "pretrained_path", "resolve_model"]

#: Bundled models: name -> what they are.
PRETRAINED = {
    "folk": "melodies in the style of the Essen German folk songs (attention LSTM)",
    "piano": "piano music in the style of POP909's pop-song arrangements (attention LSTM)",
}


def pretrained_path(name: str) -> Path:
    """The folder of the bundled model ``name``."""
    return Path(str(resources.files("continuo.pretrained") / name))


def resolve_model(name_or_path: str | Path) -> Path:
    """A bundled model's folder for its name, else ``name_or_path`` as a path."""
    text = str(name_or_path)
    return pretrained_path(text) if text in PRETRAINED else Path(name_or_path)
