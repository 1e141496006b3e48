"""Musical statistics on hand-computed cases, the set comparison of Yang & Lerch 2020, and
`continuo evaluate --stats`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import symusic

from continuo.cli import main
from continuo.evaluation.distributions import (
    compare_sets,
    inter_set_distances,
    intra_set_distances,
    kl_divergence,
    overlap_area,
)
from continuo.evaluation.stats import (
    METRICS,
    NOTE_LENGTH_NAMES,
    empty_beat_rate,
    excerpt,
    groove_consistency,
    note_length_histogram,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_range,
    polyphony,
    scale_consistency,
)
from continuo.score import make_score

Q = 480  # ticks per quarter


def _score(
    notes: list[tuple[float, float, int]], *, drums: list[int] = (), ts=None
) -> symusic.Score:
    """Notes ``(onset, length, pitch)`` in quarters; ``drums``: drum hits at these quarters."""
    score = make_score(
        [(round(on * Q), round(length * Q), pitch, 80) for on, length, pitch in notes],
        time_signature=ts,
    )
    if drums:
        track = symusic.Track("drums", 0, True)
        track.notes.extend([symusic.Note(round(t * Q), Q // 4, 36, 100) for t in drums])
        score.tracks.append(track)
    return score


def test_pitch_class_histogram_and_entropy() -> None:
    score = _score([(0, 1, 60), (1, 1, 64), (2, 1, 67), (3, 1, 72)], drums=[0, 1, 2])
    expected = np.zeros(12)
    expected[[0, 4, 7]] = [0.5, 0.25, 0.25]
    assert np.allclose(pitch_class_histogram(score), expected)
    assert pitch_class_entropy(score) == pytest.approx(1.5)  # -(.5 log .5 + 2 * .25 log .25)
    chromatic = _score([(i, 1, 60 + i) for i in range(12)])
    assert pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    assert pitch_class_entropy(_score([(0, 1, 60), (1, 1, 72)])) == 0.0
    assert math.isnan(pitch_class_entropy(_score([], drums=[0])))


def test_scale_consistency() -> None:
    c_major_and_f_sharp = [60, 62, 64, 65, 67, 69, 71, 66]
    score = _score([(i, 1, p) for i, p in enumerate(c_major_and_f_sharp)])
    assert scale_consistency(score) == pytest.approx(7 / 8)  # C major or G major: 7 of 8
    assert scale_consistency(_score([(i, 1, 60 + i) for i in range(12)])) == pytest.approx(7 / 12)
    assert scale_consistency(_score([(0, 1, 57), (1, 1, 60), (2, 1, 64)])) == 1.0
    assert math.isnan(scale_consistency(_score([])))


def test_polyphony_is_time_weighted_over_sounding_time() -> None:
    # 60 over quarters 0-4, 64 over 0-2, 67 over 2-4, silence 4-6, 60 twice (two tracks) over 6-8
    score = _score([(0, 4, 60), (0, 2, 64), (2, 2, 67), (6, 2, 60)])
    score.tracks.append(symusic.Track("", 0, False))
    score.tracks[1].notes.append(symusic.Note(6 * Q, 2 * Q, 60, 80))
    # sounding 6 quarters; per pitch 60: 4 + 2, 64: 2, 67: 2 -> 10 / 6
    assert polyphony(score) == pytest.approx(10 / 6)
    assert polyphony(_score([(0, 1, 60), (1, 1, 62)])) == 1.0
    assert math.isnan(polyphony(_score([], drums=[0])))


def test_empty_beat_rate_counts_beats_up_to_the_end() -> None:
    # a quarter at beat 0, rests, a quarter at beat 4: 5 beats, beats 1-3 empty
    assert empty_beat_rate(_score([(0, 1, 60), (4, 1, 60)])) == pytest.approx(3 / 5)
    # (MusPy 0.5.0 gives 2/6: it also fills beats 1 and 5, where the notes end, and counts 6)
    # a note across a beat line fills both beats; a drum hit fills its beat
    assert empty_beat_rate(_score([(0.5, 1, 60), (3.5, 0.5, 62)], drums=[2])) == pytest.approx(0)
    assert empty_beat_rate(_score([(0.5, 1, 60), (3.5, 0.5, 62)])) == pytest.approx(1 / 4)
    zero = _score([(0, 1, 60), (3, 1, 60)])
    zero.tracks[0].notes.append(symusic.Note(2 * Q, 0, 64, 80))  # a note of no length fills beat 2
    assert empty_beat_rate(zero) == pytest.approx(1 / 4)
    assert math.isnan(empty_beat_rate(_score([])))


def test_groove_consistency() -> None:
    same = [(bar * 4 + beat, 1, 60) for bar in range(2) for beat in range(4)]
    assert groove_consistency(_score(same)) == 1.0  # MusPy 0.5.0: 0.875 (a 3rd, empty bar)
    # bar 2 drops beats 2 and 4: Hamming distance 2 over Q = 16 positions
    fewer = [*[(b, 1, 60) for b in range(4)], (4, 2, 60), (6, 2, 60)]
    assert groove_consistency(_score(fewer)) == pytest.approx(1 - 2 / 16)
    # 3/4: Q = 12 positions; bars 1-2 differ at positions 4 and 8, bars 2-3 at position 6
    waltz = [(0, 1, 60), (1, 1, 64), (2, 1, 67), (3, 3, 60), (6, 1.5, 60), (7.5, 1.5, 60)]
    assert groove_consistency(_score(waltz, ts=(3, 4))) == pytest.approx(1 - (2 + 1) / (12 * 2))
    assert math.isnan(groove_consistency(_score([(0, 4, 60)])))  # one bar


def test_pitch_range() -> None:
    assert pitch_range(_score([(0, 1, 48), (1, 1, 72), (2, 1, 60)], drums=[0])) == 24
    assert math.isnan(pitch_range(_score([], drums=[0, 1])))  # MusPy 0.5.0: -127


def test_note_length_histogram() -> None:
    lengths = [1, 1, 0.5, 1.5, 1 / 3, 5, 0.3]
    score = _score([(i * 6, length, 60) for i, length in enumerate(lengths)])
    counts = dict(zip(NOTE_LENGTH_NAMES, note_length_histogram(score) * len(lengths), strict=True))
    assert {k: round(v) for k, v in counts.items() if v} == {
        "quarter": 2,
        "8th": 1,
        "dotted quarter": 1,
        "8th triplet": 2,  # 1/3 and 0.3 (0.3 is nearer 1/3 than 1/4 or 3/8)
        "whole": 1,  # anything longer than a whole note
    }
    assert np.isnan(note_length_histogram(_score([]))).all()


def test_excerpt_cuts_notes_at_the_end() -> None:
    cut = excerpt(_score([(0, 1, 60), (2, 2, 62), (4.5, 1, 64)]), 3)
    assert [(n.time, n.duration) for n in cut.tracks[0].notes] == [(0, Q), (2 * Q, Q)]


def test_distances() -> None:
    assert intra_set_distances(np.array([0.0, 1.0, 3.0])).tolist() == [1.0, 3.0, 2.0]
    assert inter_set_distances(np.array([0.0, 1.0]), np.array([3.0])).tolist() == [3.0, 2.0]
    vectors = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert intra_set_distances(vectors).tolist() == [5.0]


def test_overlap_and_kl() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 400), rng.normal(3, 1, 400)
    assert overlap_area(a, a) > 0.999  # tails kept: identical sets overlap fully
    assert kl_divergence(a, a) == pytest.approx(0, abs=1e-9)
    # N(0,1) against N(3,1): OA = 2 Φ(-1.5) = 0.134, KL = 4.5 nats; KDE smooths a little
    assert overlap_area(a, b) == pytest.approx(0.134, abs=0.03)
    assert kl_divergence(a, b) == pytest.approx(4.5, rel=0.25)
    assert overlap_area(a, b + 100) < 1e-6
    assert overlap_area(np.zeros(3), np.zeros(4)) == 1.0  # two equal point masses
    assert overlap_area(np.zeros(3), np.ones(4)) < 1e-6
    assert math.isnan(overlap_area(np.zeros(1), np.ones(4)))


def test_compare_sets() -> None:
    rng = np.random.default_rng(1)

    def piece(shift: int) -> symusic.Score:
        return _score(
            [
                (i / 2, 0.5 * rng.integers(1, 4), 60 + shift + int(rng.integers(0, 12)))
                for i in range(16)
            ]
        )

    real, also_real = [piece(0) for _ in range(12)], [piece(0) for _ in range(12)]
    same = compare_sets(real, also_real)
    assert set(same.metrics) == set(METRICS)
    for name, m in same.metrics.items():
        # inter-set distances spread a little wider than intra-set ones even for one source
        assert m.overlap > 0.6 and m.kl < 0.5, (name, m)
        assert m.value_overlap is None or m.value_overlap > 0.6, (name, m)
    # a set against itself: equal value densities, but its inter-set distances include the
    # zero distance of every piece to itself, which its intra-set distances do not
    itself = compare_sets(real, real)
    assert itself.metrics["polyphony"].value_overlap == pytest.approx(1, abs=1e-4)
    narrow = [_score([(i, 1, 60) for i in range(8)]) for _ in range(12)]
    far = compare_sets(narrow, real)
    assert far.metrics["pitch_range"].overlap < 0.2
    assert far.metrics["pitch_range"].generated_mean == 0.0
    data = json.loads(json.dumps(far.to_dict()))  # nan -> null, JSON-clean
    assert data["metrics"]["groove_consistency"]["reference"] == 12
    assert len(data["metrics"]["pitch_class_histogram"]["reference_mean"]) == 12


def test_evaluate_stats_cli(
    melody_run: Path, melody_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", str(melody_run), str(melody_dataset), "--stats", "--num-pieces", "4"]
    capsys.readouterr()
    assert main([*argv, "--quarters", "8", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["bits_per_token"] > 0
    stats = figures["stats"]
    assert stats["quarters"] == 8 and stats["generated"] == 4
    assert set(stats["metrics"]) == set(METRICS)
    assert 0 <= stats["metrics"]["pitch_range"]["overlap"] <= 1
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "statistics: 4 generated" in text and "scale_consistency" in text
    assert main([*argv[:-1], "1"]) == 2
    assert "--num-pieces" in capsys.readouterr().err
