"""Benchmark: key finding on short openings (Essen) and whole piano pieces (POP909), issue 12.

    nice -n 15 python benchmarks/key_finding.py [--jobs 2] [--json results.json]

Essen (``../shared/data/essen_kern/deutschl``, 5,365 kern songs, read with
``continuo.io.read_score``): each song's key is estimated from the notes of its opening 2 bars
and of its opening 4 bars, and compared with its key signature. A major key and its relative
minor count as one (they are one transposition for the codecs), so "right" means the estimate's
scale is the signature's. Bars come from the song's first time signature (4/4 without one).

Pickups: three songs in four start with an upbeat. By default (``--pickup time``) the opening
N bars are the notes that start in the first ``N x bar length`` quarters of the song, so every
opening is N bars of music long and a pickup counts for its length (2 bars of 3/4 after a
one-beat upbeat are the upbeat and the next 5 beats). ``--pickup extra`` takes the upbeat plus N
whole bars instead (its length read from the kern text: the durations before the first barline).

Methods, each on the same notes (pitch classes weighted by duration):
- ``krumhansl``: Krumhansl-Schmuckler, the method continuo used before
  (``continuo.codecs.keys.krumhansl_schmuckler``);
- ``fit+ks``: the keys whose diatonic scale holds the largest share of the notes' duration,
  ties broken by the Krumhansl-Schmuckler correlation;
- ``kp-likelihood``: Temperley-style likelihood with the Kostka-Payne profiles, no first note;
- ``aarden-likelihood``: the same with the Aarden-Essen profiles and the first note (profiles
  counted from the Essen corpus itself: shown for contrast, not a fair test);
- ``continuo``: ``continuo.codecs.keys.estimate_key`` (Kostka-Payne likelihood with the first
  note counted once more, then the mode by Krumhansl-Schmuckler).
The ``ceiling`` row is the share of songs whose signature's scale is among the scales holding
the most of the opening's duration: what a method that only picks a best-fitting scale can reach.

Also: the signature check of ``transposition_to_c`` on whole Essen songs (how many songs it
moves away from their signature, listed), and on POP909 (``../shared/data/pop909``, read with
symusic to keep each MIDI file's own key signature): whole pieces, every track, against the
annotated key (``key_audio.txt``) of the 757 songs with one key.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from fractions import Fraction
from pathlib import Path

import numpy as np

from continuo.codecs.keys import (
    KOSTKA_PAYNE_MAJOR,
    KOSTKA_PAYNE_MINOR,
    MAJOR_PROFILE,
    MINOR_PROFILE,
    estimate_key,
    key_transposition,
    krumhansl_schmuckler,
    nearest_shift,
    scale_fit,
    transposition_to_c,
)

REPO = Path(__file__).resolve().parents[1]
ESSEN = REPO.parent / "shared" / "data" / "essen_kern" / "deutschl"
POP909 = REPO.parent / "shared" / "data" / "pop909"

#: Aarden's Essen profiles (as music21's analysis.discrete.AardenEssen carries them).
AARDEN_MAJOR = np.array(
    [17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624,
     8.15494, 0.232998, 4.95122]
)  # fmt: skip
AARDEN_MINOR = np.array(
    [18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621,
     1.93186, 7.37619, 1.75623]
)  # fmt: skip
KEYS = [(tonic, mode) for mode in (0, 1) for tonic in range(12)]
Notes = tuple[np.ndarray, np.ndarray]  # pitches, durations (quarters), in onset order


# -- reading (in worker processes) --------------------------------------------------------------
def _nice() -> None:
    os.nice(15)
    os.environ["OMP_NUM_THREADS"] = "1"


def pickup_quarters(path: Path) -> float:
    """Length in quarters of the notes before a kern file's first barline (0: none)."""
    total = Fraction(0)
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith(("!", "*")) or not line.strip():
            continue
        if line.startswith("="):
            break
        match = re.match(r"^[\[\({&]*(\d+)(\.*)", line.split("\t")[0])
        if match:
            value = int(match.group(1))
            length = Fraction(4, value) if value else Fraction(8)
            dot = length
            for _ in match.group(2):
                dot /= 2
                length += dot
            total += length
    return float(total)


def read_essen(path: Path) -> dict | None:
    from continuo.io import read_score

    score = read_score(path)
    tpq = score.ticks_per_quarter
    signatures = sorted(score.key_signatures, key=lambda ks: ks.time)
    meters = sorted(score.time_signatures, key=lambda ts: ts.time)
    if not signatures:
        return None
    bar = meters[0].numerator * 4 / meters[0].denominator if meters else 4.0
    track = next(t for t in score.tracks if len(t.notes))
    soa = track.notes.numpy()
    pickup = pickup_quarters(path)
    return {
        "name": str(path.relative_to(path.parents[1])),
        "pitch": soa["pitch"].astype(np.int64),
        "onset": soa["time"] / tpq,
        "duration": soa["duration"] / tpq,
        "bar": bar,
        "pickup": pickup if 0 < pickup < bar else 0.0,
        "sharps": int(signatures[0].key),
        "minor": int(signatures[0].tonality),
        "checked": transposition_to_c(score),
    }


def read_pop909(folder: Path) -> dict | None:
    import symusic

    names = {"C": 0, "Db": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "Gb": 6, "G": 7, "Ab": 8}
    names |= {"A": 9, "Bb": 10, "B": 11, "C#": 1, "D#": 3, "F#": 6, "G#": 8, "A#": 10}
    lines = (folder / "key_audio.txt").read_text().split("\n")
    keys = [line.split("\t")[2] for line in lines if line.strip()]
    if len(keys) != 1:
        return None
    tonic, mode = keys[0].split(":")
    score = symusic.Score(str(folder / f"{folder.name}.mid"))
    parts = [t.notes.numpy() for t in score.tracks if not t.is_drum and len(t.notes)]
    signatures = sorted(score.key_signatures, key=lambda ks: ks.time)
    onset = np.concatenate([p["time"] for p in parts])
    pitch = np.concatenate([p["pitch"] for p in parts]).astype(np.int64)
    return {
        "name": folder.name,
        "pitch": pitch,
        "duration": np.concatenate([p["duration"] for p in parts]) / score.ticks_per_quarter,
        "first": int(pitch[onset == onset.min()].min()),
        "key": (names[tonic], int(mode == "min")),
        "sharps": int(signatures[0].key) if signatures else None,
        "checked": transposition_to_c(score) if signatures else None,
    }


# -- methods -------------------------------------------------------------------------------------
def _histogram(pitches: np.ndarray, durations: np.ndarray) -> np.ndarray:
    weights = np.maximum(durations, 0.0)
    weights = weights * len(weights) / weights.sum()
    return np.bincount(pitches % 12, weights, minlength=12)


def _log_profiles(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    rows = []
    for profile in (major, minor):
        rows += [np.roll(np.log(profile / profile.sum()), t) for t in range(12)]
    return np.array(rows)


def _likelihood(profiles: np.ndarray, first_note: bool) -> Callable[..., tuple[int, int]]:
    def method(pitches: np.ndarray, durations: np.ndarray, first: int) -> tuple[int, int]:
        scores = profiles @ _histogram(pitches, durations)
        if first_note:
            scores = scores + profiles[:, first % 12]
        return KEYS[int(np.argmax(scores))]

    return method


def _fit_then_ks(pitches: np.ndarray, durations: np.ndarray, first: int) -> tuple[int, int]:
    fit = scale_fit(pitches, durations)
    histogram = _histogram(pitches, durations)
    best, best_r = KEYS[0], -np.inf
    for tonic, mode in KEYS:
        if fit[(tonic + 3 * mode) % 12] < fit.max() - 1e-9:
            continue
        profile = np.roll((MAJOR_PROFILE, MINOR_PROFILE)[mode], tonic)
        r = np.corrcoef(histogram, profile)[0, 1] if np.ptp(histogram) else 0.0
        if r > best_r + 1e-12:
            best, best_r = (tonic, mode), r
    return best


METHODS: dict[str, Callable[..., tuple[int, int]]] = {
    "krumhansl": lambda p, d, first: krumhansl_schmuckler(p, d),
    "fit+ks": _fit_then_ks,
    "kp-likelihood": _likelihood(_log_profiles(KOSTKA_PAYNE_MAJOR, KOSTKA_PAYNE_MINOR), False),
    "aarden-likelihood": _likelihood(_log_profiles(AARDEN_MAJOR, AARDEN_MINOR), True),
    "continuo": lambda p, d, first: estimate_key(p, d, first=first),
}


def opening(song: dict, bars: int | None, pickup: str) -> Notes:
    """The notes of the first ``bars`` bars (all of them for None): see the module docstring."""
    if bars is None:
        return song["pitch"], song["duration"]
    end = bars * song["bar"] + (song["pickup"] if pickup == "extra" else 0.0)
    keep = song["onset"] < end - 1e-9
    return song["pitch"][keep], song["duration"][keep]


def signature_scale(sharps: int) -> int:
    return (7 * sharps) % 12


# -- the benchmark -------------------------------------------------------------------------------
def essen(songs: list[dict], pickup: str) -> dict:
    results: dict = {}
    for label, bars in (("2 bars", 2), ("4 bars", 4), ("whole song", None)):
        right = dict.fromkeys(METHODS, 0)
        exact = dict.fromkeys(("krumhansl", "continuo"), 0)
        ceiling = 0
        for song in songs:
            pitches, durations = opening(song, bars, pickup)
            truth = signature_scale(song["sharps"])
            for name, method in METHODS.items():
                tonic, mode = method(pitches, durations, int(pitches[0]))
                scale = (tonic + 3 * mode) % 12
                right[name] += scale == truth
                if name in exact:  # mode too, against the song's designated key (*X:)
                    exact[name] += scale == truth and mode == song["minor"]
            fit = scale_fit(pitches, durations)
            ceiling += fit[truth] >= fit.max() - 1e-9
        n = len(songs)
        results[label] = {
            **{name: right[name] / n for name in METHODS},
            **{f"{name} (exact key)": exact[name] / n for name in exact},
            "ceiling": ceiling / n,
        }
    return results


def signature_check(songs: list[dict]) -> dict:
    changed = [song for song in songs if song["checked"] != nearest_shift(-7 * song["sharps"])]
    return {
        "songs": len(songs),
        "changed": len(changed),
        "changed_songs": [
            f"{s['name']} ({s['sharps']:+d} sharps, scale holds "
            f"{scale_fit(s['pitch'], s['duration'])[signature_scale(s['sharps'])]:.2f})"
            for s in changed
        ],
    }


def pop909(pieces: list[dict]) -> dict:
    results: dict = {"pieces": len(pieces)}
    for name in ("krumhansl", "continuo"):
        right = exact = 0
        for piece in pieces:
            tonic, mode = METHODS[name](piece["pitch"], piece["duration"], piece["first"])
            right += key_transposition(tonic, mode) == key_transposition(*piece["key"])
            exact += (tonic, mode) == piece["key"]
        results[name] = right / len(pieces)
        results[f"{name} (exact key)"] = exact / len(pieces)
    signed = [p for p in pieces if p["sharps"] is not None]
    truth = [key_transposition(*p["key"]) for p in signed]
    results["with a MIDI key signature"] = len(signed)
    results["signatures (sharps)"] = sorted({p["sharps"] for p in signed})
    results["signature trusted: right"] = sum(
        nearest_shift(-7 * p["sharps"]) == t for p, t in zip(signed, truth, strict=True)
    )
    results["signature checked: right"] = sum(
        p["checked"] == t for p, t in zip(signed, truth, strict=True)
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--essen", type=Path, default=ESSEN)
    parser.add_argument("--pop909", type=Path, default=POP909)
    parser.add_argument("--jobs", type=int, default=2, help="reading processes (at most 2 here)")
    parser.add_argument("--pickup", choices=("time", "extra"), default="time")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    started = time.perf_counter()
    files = sorted(args.essen.rglob("*.krn"))
    with ProcessPoolExecutor(args.jobs, initializer=_nice) as pool:
        songs = [s for s in pool.map(read_essen, files, chunksize=64) if s is not None]
        folders = sorted(p for p in args.pop909.glob("[0-9]*") if p.is_dir())
        pieces = [p for p in pool.map(read_pop909, folders, chunksize=16) if p is not None]
    results = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {args.jobs} jobs",
        "pickup": args.pickup,
        "essen": essen(songs, args.pickup),
        "essen signature check": signature_check(songs),
        "pop909": pop909(pieces) if pieces else "not found",
    }
    results["seconds"] = round(time.perf_counter() - started, 1)

    print(f"Essen: {len(files)} files, {len(songs)} with a key signature; pickup: {args.pickup}")
    print("| method | 2 bars | 4 bars | whole song |\n|---|---|---|---|")
    for method in results["essen"]["2 bars"]:
        cells = " | ".join(f"{results['essen'][span][method]:.1%}" for span in results["essen"])
        print(f"| {method} | {cells} |")
    check = results["essen signature check"]
    print(f"\nsignature check: {check['changed']} of {check['songs']} Essen songs change")
    for line in check["changed_songs"]:
        print(f"  {line}")
    print(f"\nPOP909: {json.dumps(results['pop909'])}")
    print(f"\n{results['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
