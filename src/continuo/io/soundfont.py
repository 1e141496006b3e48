"""A SoundFont that symusic's synthesizer plays in tune.

symusic's synthesizer (0.5.8, prestosynth) ignores an instrument zone's *overridingRootKey*
generator (SoundFont 2.04, section 8.1.2, generator 58) and pitches each sample from the
``byOriginalPitch`` of its sample header instead (symusic issue #55, open). Many SoundFonts,
TimGM6mb among them, store every sample with an original pitch of 60 and give the real root in
the zone: the bundled piano then sounds 14 semitones sharp on G3, and violin and choir are as far
off. (It does apply the zone's fine tuning.) :func:`in_tune_soundfont` writes, once, a copy whose
sample headers carry each zone's root key, which every synthesizer plays the same; measured in
docs/decisions/0007-rendering.md: TimGM6mb's piano within 0.1 semitone of every key from C3 to
C6 (it was off by up to 19 semitones).

The copy lives in continuo's cache (``soundfonts/``), named by the source's digest; nothing is
downloaded.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
from collections import Counter
from pathlib import Path

from continuo.atomic import atomic_file
from continuo.paths import default_cache_dir

__all__ = ["in_tune_soundfont", "root_key_fixes"]

_SAMPLE_ID, _ROOT_KEY = 53, 58
_SHDR_SIZE, _IGEN_SIZE, _IBAG_SIZE, _INST_SIZE = 46, 4, 4, 22


def in_tune_soundfont(path: str | Path, cache_dir: Path | None = None) -> Path:
    """``path`` itself when no zone overrides a root key; else the path of a fixed copy in the
    cache (written the first time, atomically)."""
    path = Path(path)
    data = path.read_bytes()
    fixed = root_key_fixes(data)
    if fixed is None:
        return path
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    name = f"{path.stem}-{digest}-in-tune.sf2"
    folders = [cache_dir or default_cache_dir(), Path(tempfile.gettempdir()) / "continuo"]
    for folder in folders:  # a read-only cache falls back to the temporary folder
        target = folder / "soundfonts" / name
        if target.is_file():
            return target
        try:
            with atomic_file(target) as tmp:
                tmp.write_bytes(fixed)
            return target
        except OSError:
            continue
    return path  # nowhere to write: play it as it is


def root_key_fixes(data: bytes) -> bytes | None:
    """The SoundFont ``data`` with each sample's original pitch set to the root key its zones
    give it (the most common one when zones disagree); ``None`` when nothing needs fixing or ``data`` is not a SoundFont 2 file."""
    chunks = _pdta_chunks(data)
    if chunks is None:
        return None
    inst, ibag, igen, shdr = (chunks[name] for name in ("inst", "ibag", "igen", "shdr"))
    roots: dict[int, Counter[int]] = {}
    n_inst = inst[1] // _INST_SIZE
    bag_of = [_u16(data, inst[0] + i * _INST_SIZE + 20) for i in range(n_inst)]
    gen_of = [_u16(data, ibag[0] + b * _IBAG_SIZE) for b in range(ibag[1] // _IBAG_SIZE)]
    for i in range(n_inst - 1):  # the last record is the terminal one
        global_gens: dict[int, int] = {}
        for bag in range(bag_of[i], bag_of[i + 1]):
            gens = {
                _u16(data, igen[0] + g * _IGEN_SIZE): struct.unpack_from(
                    "<h", data, igen[0] + g * _IGEN_SIZE + 2
                )[0]
                for g in range(gen_of[bag], gen_of[bag + 1])
            }
            if _SAMPLE_ID not in gens:
                if bag == bag_of[i]:
                    global_gens = gens
                continue
            root = gens.get(_ROOT_KEY, global_gens.get(_ROOT_KEY, -1))
            if 0 <= root <= 127:
                roots.setdefault(gens[_SAMPLE_ID], Counter())[root] += 1
    if not roots:
        return None
    out = bytearray(data)
    n_samples = shdr[1] // _SHDR_SIZE
    for sample, counts in roots.items():
        if not 0 <= sample < n_samples - 1:
            continue
        out[shdr[0] + sample * _SHDR_SIZE + 40] = counts.most_common(1)[0][0]
    return bytes(out)


def _pdta_chunks(data: bytes) -> dict[str, tuple[int, int]] | None:
    """``name -> (offset, size)`` of the sub-chunks of the ``pdta`` list of a SoundFont."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        return None
    position = 12
    while position + 8 <= len(data):
        tag, size = data[position : position + 4], _u32(data, position + 4)
        if tag == b"LIST" and data[position + 8 : position + 12] == b"pdta":
            chunks, inner, end = {}, position + 12, position + 8 + size
            while inner + 8 <= end:
                name = data[inner : inner + 4].decode("latin-1")
                length = _u32(data, inner + 4)
                chunks[name] = (inner + 8, length)
                inner += 8 + length + (length & 1)
            needed = {"inst", "ibag", "igen", "shdr"}
            return chunks if needed <= chunks.keys() else None
        position += 8 + size + (size & 1)
    return None


def _u16(data: bytes, offset: int) -> int:
    return struct.unpack_from("<H", data, offset)[0]


def _u32(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]
