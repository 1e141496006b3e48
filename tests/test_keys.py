"""Key finding (issue 12): short seeds in their own key, the key signature checked against the
notes, and the bundled folk model continuing the demo's seed in its key."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import symusic

from continuo.cli.demo import DEMO_SEED
from continuo.codecs.events import EventsCodec, EventsConfig
from continuo.codecs.keys import (
    MIN_NOTES_TO_CHECK,
    estimate_key,
    key_transposition,
    krumhansl_schmuckler,
    nearest_shift,
    scale_fit,
    transposition_to_c,
)
from continuo.codecs.melody import MelodyCodec, melody_from_text, parse_melody_text
from continuo.score import make_score

README = Path(__file__).resolve().parents[1] / "README.md"
Q = 480


def readme_seeds() -> list[str]:
    """Every ``--seed "..."`` of the README."""
    return re.findall(r'--seed "([^"]+)"', README.read_text(encoding="utf-8"))


def notes_of_text(text: str) -> tuple[np.ndarray, np.ndarray]:
    soa = melody_from_text(text).tracks[0].notes.numpy()
    return soa["pitch"].astype(np.int64), soa["duration"].astype(np.int64)


def test_the_readme_has_seeds() -> None:
    assert len(readme_seeds()) >= 4


@pytest.mark.parametrize("seed", [DEMO_SEED, *readme_seeds()])
def test_demo_and_readme_seeds_are_read_in_their_own_key(seed: str) -> None:
    """Each is plainly C major (the demo's "Alle meine Entchen"; G G F E; C E G): the codec
    leaves it where it is, and moved to any other key it is moved back from there."""
    pitches, durations = notes_of_text(seed)
    assert estimate_key(pitches, durations) == (0, 0)
    codec = MelodyCodec()
    assert codec.transposition(melody_from_text(seed)) == 0
    for shift in range(-5, 7):
        moved = " ".join(
            str(int(token) + shift) if token.isdigit() else token
            for token in parse_melody_text(seed)
        )
        assert codec.transposition(melody_from_text(moved)) == nearest_shift(-shift)


def test_krumhansl_schmuckler_alone_hears_the_demo_seed_in_g() -> None:
    """Why the estimator changed: the old method names the dominant's key (F# against F)."""
    assert krumhansl_schmuckler(*notes_of_text(DEMO_SEED)) == (7, 0)
    assert estimate_key(*notes_of_text(DEMO_SEED)) == (0, 0)


def test_estimate_moves_with_the_notes_and_tells_the_modes_apart() -> None:
    rng = np.random.default_rng(0)
    major = [0, 2, 4, 5, 7, 9, 11]
    for _ in range(30):
        pitches = 60 + rng.choice(major, size=rng.integers(3, 40))
        durations = rng.integers(1, 8, size=len(pitches))
        tonic, mode = estimate_key(pitches, durations)
        for n in range(12):
            assert estimate_key(pitches + n, durations) == ((tonic + n) % 12, mode)
    # A harmonic-minor tune, and the same notes restricted to C major / A minor
    minor = np.array([57, 59, 60, 62, 64, 65, 68, 69, 68, 65, 64, 60, 57, 56, 57])
    assert estimate_key(minor, np.ones(15)) == (9, 1)
    assert estimate_key(minor, np.ones(15), keys=((0, 0), (9, 1))) == (9, 1)
    assert estimate_key(np.zeros(0), np.zeros(0)) == (0, 0)


def test_scale_fit_is_the_share_of_duration_in_each_major_scale() -> None:
    fit = scale_fit(np.array([60, 66]), np.array([3, 1]))  # C for 3, F# for 1
    assert fit[0] == pytest.approx(0.75) and fit[7] == pytest.approx(1.0)  # C major, G major
    assert fit[2] == pytest.approx(0.25)  # D major holds F# only


# -- the key signature checked against the notes ----------------------------------------------
G_MAJOR_TUNE = [67, 71, 74, 72, 71, 69, 67, 66, 64, 66, 67, 69, 71, 69, 67, 66, 67]
G_MIXOLYDIAN_TUNE = [67, 71, 74, 72, 71, 69, 67, 65, 64, 65, 67, 69, 71, 69, 67, 65, 67]


def tune(pitches: list[int], sharps: int | None) -> symusic.Score:
    notes = [(k * Q, Q, pitch, 80) for k, pitch in enumerate(pitches)]
    return make_score(notes, key=None if sharps is None else (sharps, 0))


def test_a_default_c_major_signature_gives_way_to_the_notes() -> None:
    """A sequencer's MIDI file of a G major tune with a blank signature goes up by 5, not 0."""
    assert len(G_MAJOR_TUNE) >= MIN_NOTES_TO_CHECK
    assert transposition_to_c(tune(G_MAJOR_TUNE, 0)) == 5
    assert transposition_to_c(tune(G_MAJOR_TUNE, 1)) == 5
    assert transposition_to_c(tune(G_MAJOR_TUNE, None)) == 5


def test_signatures_that_fit_modal_tunes_or_few_notes_are_kept() -> None:
    # G mixolydian written with G major's sharp ends on G, the signature's tonic: kept
    assert transposition_to_c(tune(G_MIXOLYDIAN_TUNE, 1)) == 5
    # too few notes to overrule a signature
    assert transposition_to_c(tune(G_MAJOR_TUNE[: MIN_NOTES_TO_CHECK - 1], 0)) == 0
    # a later signature: only the notes before it are checked against the first
    score = tune(G_MAJOR_TUNE, 0)
    score.key_signatures.append(symusic.KeySignature(4 * Q, 1, 0))
    assert transposition_to_c(score) == 0


def test_a_polyphonic_piece_with_a_default_signature() -> None:
    """Chords of D major (I IV V I, eight times) under a blank signature: moved down by 2."""
    chords = [(50, 54, 57), (55, 59, 62), (57, 61, 64), (50, 54, 57)] * 8
    notes = [(k * Q, Q, p, 80) for k, chord in enumerate(chords) for p in chord]
    score = make_score(notes, key=(0, 0))
    assert transposition_to_c(score) == -2
    codec = EventsCodec(EventsConfig(transpose=True))
    assert codec.transposition(score) == -2
    ids = codec.encode(score)
    assert codec.encode(codec.decode(ids)) == ids  # the decoded C major piece stays put


@pytest.mark.parametrize("sharps", [0, 1, -2])
def test_decoded_melodies_encode_back_to_the_same_ids(sharps: int) -> None:
    """The rule moves with the notes, so a decoded melody (C major / A minor signature) is
    never second-guessed, whether its signature or its notes set the first transposition."""
    codec = MelodyCodec()
    for pitches in (G_MAJOR_TUNE, G_MIXOLYDIAN_TUNE):
        ids = codec.encode(tune(pitches, sharps))
        assert codec.encode(codec.decode(ids)) == ids


def test_essen_signatures_stand(essen_kinder: Path) -> None:
    """Hand-written signatures: no kinder song is moved away from its own."""
    from continuo.io import read_score

    for path in sorted(essen_kinder.glob("*.krn")):
        score = read_score(path)
        sharps = min(score.key_signatures, key=lambda ks: ks.time).key
        assert transposition_to_c(score) == nearest_shift(-7 * sharps), path.name


# -- the bundled folk model continues the demo's seed in its key ----------------------------------
def test_the_folk_model_continues_the_demo_seed_with_f_not_f_sharp() -> None:
    from continuo.generation.generator import Generator

    folk = Generator.from_pretrained("folk", device="cpu")
    f = f_sharp = 0
    for rng_seed in (1, 2, 3, 7):
        [out] = folk.generate_continuation(
            DEMO_SEED, bars=8, temperature=0.9, top_p=0.95, rng_seed=rng_seed
        )
        new = [n.pitch % 12 for t in out.score.tracks for n in t.notes if n.time >= out.seed_end]
        f, f_sharp = f + new.count(5), f_sharp + new.count(6)
    assert f > 0 and f_sharp < 0.1 * (f + f_sharp), (f, f_sharp)


def test_key_transposition_of_relative_keys_is_one() -> None:
    for tonic in range(12):
        assert key_transposition(tonic, 0) == key_transposition((tonic + 9) % 12, 1)
