"""The pianoroll codec: frames, their serialisation, onsets, and the JSB chorales' own frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from continuo.codecs import get_codec
from continuo.codecs.pianoroll import PianorollCodec
from continuo.errors import CodecError
from continuo.score import make_score, note_table

Q = 480
S = 120  # a 16th


def words(text: str) -> list[str]:
    return text.split()


def test_vocabulary_layout() -> None:
    codec = get_codec("pianoroll")
    assert codec.vocab[:2] == ["/", "|"] and codec.separator_id == 0 and codec.frame_end_id == 1
    assert codec.vocab[2:] == [str(p) for p in range(21, 109)] and codec.vocab_size == 90
    assert codec.n_pitches == 88
    onsets = PianorollCodec(onsets=True)
    assert onsets.vocab[:90] == codec.vocab and onsets.vocab[90:] == [
        f"+{p}" for p in range(21, 109)
    ]
    assert PianorollCodec(low=60, high=71).vocab_size == 14


def test_frames_and_tokens() -> None:
    codec = get_codec("pianoroll")
    # C-E for a quarter, then G alone after a 16th of silence
    score = make_score([(0, Q, 64, 80), (0, Q, 60, 80), (Q + S, S, 67, 80)])
    frames = codec.to_frames(score)
    assert frames.shape == (6, 88) and frames.dtype == bool
    assert [list(np.flatnonzero(f) + 21) for f in frames] == [[60, 64]] * 4 + [[], [67]]
    assert " ".join(codec.ids_to_tokens(codec.encode(score))) == (
        "60 64 | 60 64 | 60 64 | 60 64 | | 67 |"
    )
    assert np.array_equal(codec.ids_to_frames(codec.encode(score)), frames)
    assert codec.length_in_quarters(codec.encode(score)) == 1.5


def test_restruck_notes_merge_without_onsets_and_survive_with_them() -> None:
    score = make_score([(0, 2 * S, 60, 80), (2 * S, 2 * S, 60, 80)])
    held = get_codec("pianoroll")
    assert note_table(held.quantize(score))[:, :3].tolist() == [[0, 4 * S, 60]]
    struck = get_codec("pianoroll", onsets=True)
    assert " ".join(struck.ids_to_tokens(struck.encode(score))) == "+60 | 60 | +60 | 60 |"
    assert note_table(struck.decode(struck.encode(score)))[:, :3].tolist() == [
        [0, 2 * S, 60],
        [2 * S, 2 * S, 60],
    ]


def test_quantize_keeps_the_time_from_tick_zero_and_the_pitch_range() -> None:
    codec = get_codec("pianoroll")
    score = make_score([(Q + 70, 10, 60, 100), (Q, Q, 12, 100), (2 * Q, 3 * Q, 62, 20)])
    # 60: onset rounds up to the 2nd 16th of beat 2, lasts one step; 12 is below the piano
    assert note_table(codec.quantize(score)).tolist() == [
        [Q + S, S, 60, 80, 0],
        [2 * Q, 3 * Q, 62, 80, 0],
    ]
    with pytest.raises(CodecError, match=r"pitch range 21\.\.108"):
        codec.encode(make_score([(0, Q, 12, 80)]))


def test_decode_is_lenient() -> None:
    codec = get_codec("pianoroll", low=60, high=71)
    ids = codec.tokens_to_ids
    frames = codec.ids_to_frames([*ids(words("/ 64 60 60 | / | 62")), 999, -3])
    assert frames.shape == (3, 12)
    assert [list(np.flatnonzero(f) + 60) for f in frames] == [[60, 64], [], [62]]
    assert codec.decode([]).note_num() == 0
    assert codec.decode(ids(["|", "|"])).note_num() == 0
    struck = get_codec("pianoroll", onsets=True, low=60, high=71)
    # a held pitch that was not sounding starts a note; "+60" over a held 60 re-strikes it
    score = struck.decode(struck.tokens_to_ids(words("60 | 60 | +60 | | 60 |")))
    assert note_table(score)[:, :3].tolist() == [[0, 2 * S, 60], [2 * S, S, 60], [4 * S, S, 60]]


@settings(max_examples=50, deadline=None)
@given(
    frames=arrays(bool, st.tuples(st.integers(0, 30), st.just(12))),
    onsets=arrays(bool, st.just((30, 12))),
)
def test_frames_and_ids_convert_both_ways(frames: np.ndarray, onsets: np.ndarray) -> None:
    onsets = onsets[: len(frames)] & frames
    for with_onsets in (False, True):
        codec = get_codec("pianoroll", low=40, high=51, onsets=with_onsets)
        ids = codec.frames_to_ids(frames, onsets)
        assert ids.count(codec.frame_end_id) == len(frames)
        back, back_onsets = codec.ids_to_rolls(ids)
        assert np.array_equal(back, frames)
        if with_onsets:
            previous = np.vstack([np.zeros((1, 12), bool), frames[:-1]])
            assert np.array_equal(back_onsets, (frames & ~previous) | onsets)
        # every frame's pitches come in ascending order, then the frame end
        tokens = codec.ids_to_tokens(ids)
        frame: list[int] = []
        for token in tokens:
            if token == "|":
                assert frame == sorted(frame)
                frame = []
            else:
                frame.append(int(token.lstrip("+")))
        if frames.any():  # through a score: the same frames, up to the last sounding one
            again, again_onsets = codec.to_rolls(codec.decode(ids))
            assert np.array_equal(again, frames[: len(again)]) and not frames[len(again) :].any()
            if with_onsets:
                assert np.array_equal(again_onsets, back_onsets[: len(again)])


def same_frames(frames: np.ndarray, expected: np.ndarray) -> bool:
    """Equal up to the last sounding frame (a score ends with its last note)."""
    n = len(frames)
    return np.array_equal(frames, expected[:n]) and not expected[n:].any()


def test_jsb_chorales_frames_are_the_datasets_frames(jsb_dir) -> None:
    path = jsb_dir / "jsb-chorales-16th.json"
    chorales = json.loads(path.read_text())["test"]
    codec = get_codec("pianoroll")
    frames = []
    for steps in chorales:
        expected = np.zeros((len(steps), 88), dtype=bool)
        for t, pitches in enumerate(steps):
            expected[t, [int(p) - 21 for p in pitches]] = True
        frames.append(expected)
        ids = codec.frames_to_ids(expected)
        assert ids.count(codec.frame_end_id) == len(steps)
        assert np.array_equal(codec.ids_to_frames(ids), expected)
        # through a score and back: the same frames, one "|" per 16th
        assert same_frames(codec.to_frames(codec.decode(ids)), expected)
    # and from the chorales as continuo.io reads them (four voices as four tracks)
    try:
        from continuo.io import read_pieces
    except ImportError:
        return
    scores = [p.score for p in read_pieces(path) if "#test/" in p.name]
    assert len(scores) == len(frames)
    for score, expected in zip(scores, frames, strict=True):
        assert same_frames(codec.to_frames(score), expected)


def test_pitch_shift_table() -> None:
    codec = get_codec("pianoroll", onsets=True)
    table = codec.pitch_shift_table(-2)
    assert table[:2].tolist() == [0, 1]
    assert table[codec.token_id("60")] == codec.token_id("58")
    assert table[codec.token_id("+60")] == codec.token_id("+58")
    assert table[codec.token_id("22")] == -1 and table[codec.token_id("+22")] == -1
