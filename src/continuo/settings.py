"""Settings: one converter from what a user wrote to a field's type, and one check for unknown names.

Every typed configuration (:class:`~continuo.training.config.TrainConfig`, the model configs of
:mod:`continuo.models.configs`, :class:`~continuo.training.run_config.RunConfig`) converts its
fields with :func:`convert_fields` when it is made, and refuses names it does not have with
:func:`check_known`. So a value reads the same whether it came from the command line (text), a
TOML file or a checkpoint's JSON (numbers), and every mistake is one :class:`ConfigError` naming
the setting as the command line spells it (``--batch-size``).

Conversions: ``int`` takes whole numbers (``64``, ``"64"``, ``"1e3"``), ``float`` any finite
number (``"3e-4"``), ``bool`` ``true``/``false`` (also ``yes``/``no``, ``1``/``0``), ``str`` text
(a number becomes its text: a folder may be named ``2024``). A ``bool`` is never a number.
Fields of other types are left as they are.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from continuo.errors import ConfigError

__all__ = ["check_known", "convert", "convert_fields", "flag"]

_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def flag(name: str) -> str:
    """A setting's name as the command line spells it: ``batch_size`` -> ``--batch-size``."""
    return f"--{name.replace('_', '-')}"


def convert(value: Any, kind: Any, name: str, *, owner: str = "") -> Any:
    """``value`` as ``kind`` (``int``, ``float``, ``bool`` or ``str``, or their names).

    ``owner`` starts the error message (``"model 'lstm': "``); the setting is named by
    :func:`flag`. Other kinds return ``value`` unchanged.
    """
    kind = getattr(kind, "__name__", kind)  # a string under postponed annotations
    where = f"{owner}setting {flag(name)}"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        if number:
            return str(value)
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text, not {value!r}")
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    if kind not in ("int", "float"):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value  # exact, however large
    parsed = _number(value)
    if kind == "int":
        if parsed is None or not math.isfinite(parsed) or parsed != int(parsed):
            raise ConfigError(f"{where} must be a whole number, not {value!r}")
        return int(parsed)
    if parsed is None or not math.isfinite(parsed):
        raise ConfigError(f"{where} must be a number, not {value!r}")
    return float(parsed)


def convert_fields(instance: Any, *, owner: str = "") -> None:
    """Convert every field of the dataclass ``instance`` to its declared type, in place (frozen
    dataclasses too); for ``__post_init__``."""
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        object.__setattr__(
            instance, field.name, convert(value, field.type, field.name, owner=owner)
        )


def check_known(given: Iterable[str], known: Iterable[str], *, owner: str, hint: str = "") -> None:
    """:class:`ConfigError` when ``given`` holds a name not in ``known``: ``"{owner} has no
    setting --foo (settings: ...)"``, or ``hint`` in the parentheses when given."""
    known = list(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join(flag(name) for name in unknown)
        listed = hint or f"settings: {', '.join(flag(name) for name in known)}"
        plural = "s" if len(unknown) > 1 else ""
        raise ConfigError(f"{owner} has no setting{plural} {names} ({listed})")


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a number or text of one (not a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
