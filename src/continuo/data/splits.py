"""The train/valid/test split of a corpus's pieces, for a corpus of any size.

:func:`assign_splits` is the rule (see its docstring). It runs on a table of pieces in SQLite,
:func:`split_table`, so that ``prepare`` can split a corpus of millions of pieces with the table
on disk and its memory flat; :func:`assign_splits` gives it a list, in a database in memory.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from collections.abc import Sequence

__all__ = [
    "MIN_HELD_OUT",
    "SPLITS",
    "assign_split",
    "assign_splits",
    "create_piece_table",
    "source_split",
    "split_table",
]

SPLITS = ("train", "valid", "test")  # in the order of how far a piece is held out
#: Valid and test each get at least this many pieces when the corpus has ten times as many.
MIN_HELD_OUT = 3
_SOURCE_SPLIT = re.compile(r"#(train|valid|test)/")


def assign_split(name: str, *, valid_fraction: float, test_fraction: float) -> tuple[str, int]:
    """The split and the fold (0-9) of a piece, from a hash of its name alone.

    Deterministic and stable as the corpus grows: a piece keeps its split whatever else is added.
    A whole corpus is split by :func:`assign_splits`, which starts from this.
    """
    u, fold = _position(name)
    return _split_at(u, valid_fraction, test_fraction), fold


def source_split(label: str) -> str | None:
    """The split a source gives a piece itself, read from what the piece adds to its file's name
    (``#test/12`` for the JSB chorales' ``file#test/12``), or None."""
    match = _SOURCE_SPLIT.match(label)
    return match.group(1) if match else None


def assign_splits(
    pieces: Sequence[tuple[str, str, str | None]],
    *,
    valid_fraction: float,
    test_fraction: float,
) -> list[tuple[str, int]]:
    """The split and fold of every piece of a corpus, each given as ``(name, content, given)``:
    its name, a digest of its encoded content, and the split its source gives it (or None).

    - Identical pieces (the same content) form one group, with the split and fold of the group's
      first name, so that no piece is in two splits.
    - A split given by the source is kept (a group whose sources disagree goes to the most held
      out of their splits: test, then valid).
    - The other groups fall by a hash of their first name (:func:`assign_split`), so a piece
      keeps its split as the corpus grows. When that leaves valid or test with fewer than
      ``fraction * n`` of these groups, or fewer than :data:`MIN_HELD_OUT` where there are ten
      times as many, the training groups whose hashes lie nearest the held-out range move to it.
      The train split is never left empty.
    """
    db = sqlite3.connect(":memory:")
    try:
        create_piece_table(db)
        db.executemany(
            "INSERT INTO pieces (name, content, given, length) VALUES (?, ?, ?, 0)",
            ((name, content, _rank(given)) for name, content, given in pieces),
        )
        split_table(db, valid_fraction=valid_fraction, test_fraction=test_fraction)
        rows = db.execute(
            "SELECT g.split, g.fold FROM pieces p JOIN groups g ON p.content = g.content "
            "ORDER BY p.id"
        )
        return [(SPLITS[split], fold) for split, fold in rows]
    finally:
        db.close()


def create_piece_table(db: sqlite3.Connection) -> None:
    """The table :func:`split_table` reads: a row per piece, in the corpus's order, with its name,
    content digest, the rank in :data:`SPLITS` of its source's split (NULL: none), its length."""
    db.execute(
        "CREATE TABLE pieces (id INTEGER PRIMARY KEY, name TEXT, content BLOB, given INTEGER, "
        "length INTEGER)"
    )


def split_table(db: sqlite3.Connection, *, valid_fraction: float, test_fraction: float) -> None:
    """Split the pieces of the table ``pieces`` (:func:`create_piece_table`) by the rule of
    :func:`assign_splits`: fills the table ``groups (content, u, fold, split, free)``, one row
    per distinct content, with the rank in :data:`SPLITS` of its split and its fold."""
    db.execute(
        "CREATE TABLE groups (content BLOB PRIMARY KEY, u REAL, fold INTEGER, split INTEGER, "
        "free INTEGER)"
    )
    # TEXT compares as UTF-8 bytes, the order of Python's str: MIN(name) is the first name
    rows = db.execute("SELECT content, MIN(name), MAX(given) FROM pieces GROUP BY content")
    batch = []
    for content, first, given in rows:
        u, fold = _position(first)
        split = (
            given
            if given is not None
            else SPLITS.index(_split_at(u, valid_fraction, test_fraction))
        )
        batch.append((content, u, fold, split, given is None))
        if len(batch) >= 10_000:
            _insert_groups(db, batch)
    _insert_groups(db, batch)
    db.execute("CREATE INDEX groups_by_u ON groups (free, split, u)")

    (free,) = db.execute("SELECT COUNT(*) FROM groups WHERE free").fetchone()
    for split, fraction in (("test", test_fraction), ("valid", valid_fraction)):
        if fraction <= 0:
            continue
        want = max(math.floor(fraction * free), min(MIN_HELD_OUT, free // 10))
        (have,) = db.execute(
            "SELECT COUNT(*) FROM groups WHERE free AND split = ?", (SPLITS.index(split),)
        ).fetchone()
        if want > have:  # the training groups nearest the held-out range, lowest hashes first
            db.execute(
                "UPDATE groups SET split = ? WHERE rowid IN (SELECT rowid FROM groups "
                "WHERE free AND split = 0 ORDER BY u LIMIT ?)",
                (SPLITS.index(split), want - have),
            )
    no_train = db.execute("SELECT NOT EXISTS (SELECT 1 FROM groups WHERE split = 0)").fetchone()
    if free and no_train[0]:
        db.execute(
            "UPDATE groups SET split = 0 WHERE rowid = "
            "(SELECT rowid FROM groups WHERE free ORDER BY u DESC LIMIT 1)"
        )


def _insert_groups(db: sqlite3.Connection, batch: list[tuple]) -> None:
    db.executemany("INSERT INTO groups VALUES (?, ?, ?, ?, ?)", batch)
    batch.clear()


def _rank(split: str | None) -> int | None:
    return None if split is None else SPLITS.index(split)


def _position(name: str) -> tuple[float, int]:
    """A name's place in [0, 1) and its fold (0-9), from a hash of the name alone."""
    digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
    u = int.from_bytes(digest[:8], "little") / 2**64
    return u, int.from_bytes(digest[8:], "little") % 10


def _split_at(u: float, valid_fraction: float, test_fraction: float) -> str:
    if u < test_fraction:
        return "test"
    if u < test_fraction + valid_fraction:
        return "valid"
    return "train"
