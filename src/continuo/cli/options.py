"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from continuo.errors import ConfigError

__all__ = ["parse_key_values", "parse_value"]


def parse_key_values(pairs: Sequence[str] | None, what: str) -> dict[str, Any]:
    """``["steps_per_quarter=8", "transpose=false"]`` -> ``{"steps_per_quarter": 8, ...}``.

    Values are read as JSON when they parse (numbers, true/false, null, lists), else as strings.
    """
    options: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {pair!r} is not KEY=VALUE")
        options[key.strip()] = parse_value(value)
    return options


def parse_value(text: str) -> Any:
    """A command-line value as JSON when it parses (``8``, ``1e-3``, ``true``), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
