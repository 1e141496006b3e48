"""Codecs: score <-> token ids, in a registry by name.

>>> codec = get_codec("melody", steps_per_quarter=4)
>>> codec.decode(codec.encode(score))  # equals codec.quantize(score)
"""

from __future__ import annotations

from typing import Any

from continuo.codecs.base import Codec
from continuo.codecs.events import EventsCodec
from continuo.codecs.melody import MelodyCodec
from continuo.codecs.pianoroll import PianorollCodec
from continuo.errors import ConfigError

__all__ = [
    "CODECS",
    "Codec",
    "EventsCodec",
    "MelodyCodec",
    "PianorollCodec",
    "codec_from_dict",
    "get_codec",
]

#: Codec classes by name (each key is its class's ``name``).
CODECS: dict[str, type[Codec]] = {
    "melody": MelodyCodec,
    "events": EventsCodec,
    "pianoroll": PianorollCodec,
}


def get_codec(name: str, **config: Any) -> Codec:
    """A codec by registry name, with ``config`` overriding its default options."""
    try:
        codec_class = CODECS[name]
    except KeyError:
        raise ConfigError(
            f"unknown codec {name!r} (available: {', '.join(sorted(CODECS))})"
        ) from None
    return codec_class(**config)


def codec_from_dict(data: dict[str, Any]) -> Codec:
    """Rebuild a codec saved with :meth:`Codec.to_dict`, checking its version and vocabulary."""
    name = data.get("name")
    if name not in CODECS:
        raise ConfigError(f"unknown codec {name!r} (available: {', '.join(sorted(CODECS))})")
    codec_class = CODECS[name]
    if data.get("version") != codec_class.version:
        raise ConfigError(
            f"codec {name!r} was saved at version {data.get('version')}, "
            f"this continuo has version {codec_class.version}"
        )
    codec = codec_class(codec_class.Config(**data.get("config", {})))
    if "vocab" in data and list(data["vocab"]) != codec.vocab:
        raise ConfigError(f"codec {name!r}: the saved vocabulary differs from the rebuilt one")
    return codec
