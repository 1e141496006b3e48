"""Progress that suits where it goes: a live bar on a terminal, a plain line every few seconds in
a log or a pipe (where a bar's carriage returns would pile up into one unreadable line)."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from tqdm import tqdm

__all__ = ["LINE_SECONDS", "progress_bar"]

#: Seconds between progress lines when the output is not a terminal.
LINE_SECONDS = 5.0


def progress_bar(
    *,
    total: int | None,
    desc: str,
    unit: str,
    initial: int = 0,
    enabled: bool | None = None,
    leave: bool = True,
    stream: IO[str] | None = None,
    line_seconds: float | None = None,
    unit_scale: bool = False,
) -> tqdm:
    """A tqdm bar on ``stream`` (standard error by default); ``unit_scale``: counts shown as
    k, M, G (of 1,024: for bytes, ``unit="B"``).

    ``enabled`` False: nothing is shown. Otherwise a terminal gets a live bar, and anything else
    a line every ``line_seconds`` (default :data:`LINE_SECONDS`; the first after that long, so
    that quick jobs print nothing).
    """
    stream = stream or sys.stderr
    line_seconds = LINE_SECONDS if line_seconds is None else line_seconds
    options: dict[str, Any] = {"total": total, "desc": desc, "unit": unit, "initial": initial}
    if unit_scale:
        options.update(unit_scale=True, unit_divisor=1024)
    if enabled is False:
        return tqdm(**options, disable=True)
    if _is_terminal(stream):
        return tqdm(**options, leave=leave, file=stream)
    return tqdm(
        **options,
        leave=False,
        file=_Lines(stream, line_seconds),
        mininterval=line_seconds,
        delay=line_seconds,
        ascii=True,
        ncols=100,
    )


class _Lines:
    """A file for tqdm that turns its carriage-return redraws into whole lines, at most one every
    ``seconds``."""

    def __init__(self, stream: IO[str], seconds: float) -> None:
        self.stream = stream
        self.seconds = seconds
        self.last = time.monotonic()

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        now = time.monotonic()
        if line and now - self.last >= self.seconds:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last = now

    def flush(self) -> None:
        self.stream.flush()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
