"""music21's bundled corpora as sources: ``music21:essenFolksong``, ``music21:bach`` and more.

A corpus name expands to the files of that corpus (the corpus builder then reads each like any
other file), so caching and per-file error reports work the same as for a folder.
"""

from __future__ import annotations

from pathlib import Path

from continuo.errors import ConfigError

__all__ = ["CORPUS_PREFIX", "is_corpus_name", "music21_corpus_paths"]

CORPUS_PREFIX = "music21:"
#: Names that do not match a folder of music21's corpus: ``bach`` means the 371 chorales.
_CHORALES = frozenset({"bach", "chorales", "bach-chorales"})


def is_corpus_name(source: str) -> bool:
    """Whether ``source`` names a music21 corpus (``music21:NAME``) rather than a path."""
    return str(source).startswith(CORPUS_PREFIX)


def music21_corpus_paths(name: str) -> list[Path]:
    """The files of a music21 corpus, sorted, each of a type :func:`read_pieces` reads.

    ``name`` is ``music21:NAME`` or ``NAME``. ``essenFolksong`` gives the 31 ABC files holding
    8,514 Essen tunes; ``bach`` (or ``chorales``) the Riemenschneider chorales (one file per
    chorale); any other folder of music21's corpus (``palestrina``, ``nottingham-dataset``,
    ``oneills1850``, ...) gives its files. An unknown name is a :class:`ConfigError` listing the
    known ones.
    """
    from continuo.io.readers import SUFFIXES

    key = name[len(CORPUS_PREFIX) :] if name.startswith(CORPUS_PREFIX) else name
    if key.lower() in _CHORALES:
        paths = _chorale_paths()
    else:
        folders = _corpus_folders()
        folder = folders.get(key.lower())
        if folder is None:
            known = ", ".join(sorted({"bach", *(f.name for f in folders.values())}))
            raise ConfigError(f"unknown music21 corpus {name!r}; known corpora: {known}")
        paths = [p for p in folder.rglob("*") if p.is_file()]
    paths = sorted({p for p in paths if p.suffix.lower() in SUFFIXES})
    if not paths:
        raise ConfigError(f"music21 corpus {name!r} holds no file continuo can read")
    return paths


def _corpus_folders() -> dict[str, Path]:
    from music21 import common

    root = Path(common.getCorpusFilePath())
    return {
        p.name.lower(): p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(("_", "."))
    }


def _chorale_paths() -> list[Path]:
    from music21 import corpus
    from music21.corpus import chorales

    paths = []
    for name in chorales.Iterator(returnType="filename"):
        found = corpus.getWork(name)
        # A name that matches several files (other versions of one chorale): music21's own
        # corpus.parse reads the first.
        paths.append(Path(found[0] if isinstance(found, list) else found))
    return paths
