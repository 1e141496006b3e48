"""Loading ``.npz`` archives whose arrays hold pickled Python objects, only on request.

``musicnet.npz`` stores, per recording, an object array ``(audio, IntervalTree)``: reading it
means unpickling, and unpickling a file can run any code the file names. So:

- without ``trust_pickle`` an archive that needs pickle is refused (:class:`PickleRefused`);
- with it, pickles are loaded by an unpickler that resolves only what such archives contain:
  numpy arrays and dtypes, plain Python containers, and ``intervaltree``'s ``Interval`` and
  ``IntervalTree``, which become small stand-ins defined here (so the ``intervaltree`` package is
  not needed). Any other class or function named in the pickle stops the load with an error.

Arrays without objects are read by numpy with ``allow_pickle=False``.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

__all__ = [
    "Interval",
    "IntervalTree",
    "NpzPickleError",
    "PickleRefused",
    "iter_npz",
    "load_npz",
]


class NpzPickleError(Exception):
    """The archive cannot be read (not a zip of .npy files, or a pickle we will not load)."""


class PickleRefused(NpzPickleError):
    """The archive needs pickle and the caller did not opt in."""


class Interval(NamedTuple):
    """Stand-in for ``intervaltree.Interval``: ``begin``, ``end`` and ``data``."""

    begin: Any
    end: Any
    data: Any = None


class IntervalTree(list):  # type: ignore[type-arg]
    """Stand-in for ``intervaltree.IntervalTree``: a list of :class:`Interval`, sorted."""

    def __init__(self, intervals: Any = ()) -> None:
        super().__init__(sorted(intervals, key=lambda iv: (iv[0], iv[1])))


_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "list"): list,
    ("builtins", "tuple"): tuple,
    ("builtins", "dict"): dict,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("_codecs", "encode"): __import__("codecs").encode,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = _RECONSTRUCT
    _ALLOWED[(_module, "scalar")] = _SCALAR
for _module in ("intervaltree", "intervaltree.intervaltree", "intervaltree.interval"):
    _ALLOWED[(_module, "Interval")] = Interval
    _ALLOWED[(_module, "IntervalTree")] = IntervalTree


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise NpzPickleError(
                f"its pickle refers to {module}.{name}, which continuo does not load"
            ) from None


def iter_npz(path: str | PathLike[str], *, trust_pickle: bool = False) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` for each array of the archive, loaded one at a time, keys in order
    (numeric keys such as MusicNet's recording ids by number)."""
    try:
        archive = zipfile.ZipFile(Path(path))
    except (zipfile.BadZipFile, OSError) as error:
        raise NpzPickleError(f"not an .npz archive ({error})") from None
    with archive:
        members = [name for name in archive.namelist() if name.endswith(".npy")]
        for member in sorted(members, key=_member_order):
            with archive.open(member) as stream:
                yield member[: -len(".npy")], _read_member(stream, member, archive, trust_pickle)


def _member_order(name: str) -> tuple[bool, int, str]:
    key = name[: -len(".npy")]
    return (not key.isdigit(), int(key) if key.isdigit() else 0, key)


def load_npz(path: str | PathLike[str], *, trust_pickle: bool = False) -> dict[str, Any]:
    """All arrays of the archive as a dict (see :func:`iter_npz` to hold one at a time)."""
    return dict(iter_npz(path, trust_pickle=trust_pickle))


def _read_member(stream: IO[bytes], member: str, archive: zipfile.ZipFile, trust: bool) -> Any:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            _, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            _, _, dtype = np.lib.format._read_array_header(stream, version)
    except ValueError as error:
        raise NpzPickleError(f"{member} is not a .npy array ({error})") from None
    if not dtype.hasobject:
        with archive.open(member) as fresh:
            return np.lib.format.read_array(fresh, allow_pickle=False)
    if not trust:
        raise PickleRefused(member)
    try:
        return _Unpickler(stream, encoding="latin1").load()
    except NpzPickleError:
        raise
    except Exception as error:
        raise NpzPickleError(f"{member}: broken pickle ({type(error).__name__}: {error})") from None
