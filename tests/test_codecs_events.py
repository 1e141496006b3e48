"""The events codec: its vocabulary, what quantize keeps, and the token streams miditok writes."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import symusic

from continuo.codecs import get_codec
from continuo.codecs.events import EventsCodec
from continuo.errors import CodecError
from continuo.score import make_score, note_table

Q = 480


def kinds(codec: EventsCodec) -> dict[str, int]:
    return dict(collections.Counter(token.split("_")[0] for token in codec.vocab))


def test_vocabulary_is_determined_by_the_config() -> None:
    codec = get_codec("events")
    assert codec.vocab == EventsCodec().vocab
    assert codec.vocab[:2] == ["PAD_None", "EOS_None"] and codec.separator == "EOS_None"
    assert kinds(codec) == {
        "PAD": 1, "EOS": 1, "Pitch": 88, "Velocity": 8, "Duration": 32, "TimeShift": 32,
        "Program": 128,
    }  # fmt: skip
    assert codec.vocab_size == 290
    remi = get_codec("events", tokenization="REMI")
    assert kinds(remi)["Bar"] == 1 and kinds(remi)["Position"] == 16 and remi.vocab_size == 275
    assert "Velocity" not in kinds(get_codec("events", velocity_bins=0))
    assert "Program" not in kinds(get_codec("events", programs=False))
    drums = get_codec("events", drums=True)
    assert kinds(drums)["PitchDrum"] == 62 and "Program_-1" in drums.vocab
    assert kinds(get_codec("events", steps_per_quarter=12, max_duration=4))["Duration"] == 48


def test_tsd_stream_of_a_chord_and_a_melody_note() -> None:
    score = make_score([(0, Q, 60, 80), (0, Q, 64, 80), (0, Q, 67, 80), (Q, 240, 72, 100)])
    score.tracks[0].notes.append(symusic.Note(Q + 240 + 20 * Q, 120, 48, 40))
    tokens = get_codec("events").ids_to_tokens(get_codec("events").encode(score))
    chord = ["Velocity_79", "Duration_1.0.4"]
    assert tokens == [
        "Program_0", "Pitch_60", *chord, "Pitch_64", *chord, "Pitch_67", *chord,
        "TimeShift_1.0.4", "Pitch_72", "Velocity_95", "Duration_0.2.4",
        "TimeShift_8.0.4", "TimeShift_8.0.4", "TimeShift_4.2.4",
        "Pitch_48", "Velocity_47", "Duration_0.1.4",
    ]  # fmt: skip


def test_remi_stream_counts_bars() -> None:
    codec = get_codec("events", tokenization="REMI", velocity_bins=0)
    score = make_score([(0, Q, 60, 80), (9 * Q + 240, Q, 62, 80)])
    assert codec.ids_to_tokens(codec.encode(score)) == [
        "Bar_None", "Position_0", "Program_0", "Pitch_60", "Duration_1.0.4",
        "Bar_None", "Bar_None", "Position_6", "Pitch_62", "Duration_1.0.4",
    ]  # fmt: skip
    assert np.array_equal(
        note_table(codec.decode(codec.encode(score))), note_table(codec.quantize(score))
    )


def test_quantize_grid_durations_and_velocities() -> None:
    codec = get_codec("events")
    score = make_score(
        [
            (59, Q, 60, 80),  # just under half a 16th: onset 0; velocity 80 -> 79
            (Q + 60, 10, 62, 87),  # half a 16th: rounds up; 10 ticks -> one step; tie 79/95 -> 95
            (2 * Q, 10 * Q, 64, 1),  # 10 quarters -> cut to 8; velocity -> 15
            (3 * Q, 130, 12, 100),  # below the piano: dropped
            (3 * Q, 130, 120, 100),  # above the piano: dropped
        ]
    )
    assert note_table(codec.quantize(score))[:, :4].tolist() == [
        [0, Q, 60, 79],
        [Q + 120, 120, 62, 95],
        [2 * Q, 8 * Q, 64, 15],
    ]
    assert (
        note_table(get_codec("events", velocity_bins=0).quantize(score))[:, 3].tolist() == [80] * 3
    )


def test_leading_silence_is_kept() -> None:
    codec = get_codec("events")
    score = make_score([(2 * Q, Q, 60, 80)])
    assert codec.ids_to_tokens(codec.encode(score))[0] == "TimeShift_2.0.4"
    assert note_table(codec.decode(codec.encode(score)))[0, 0] == 2 * Q


def multitrack() -> symusic.Score:
    score = symusic.Score(96)
    for name, program, drum, pitch in (
        ("strings", 48, False, 55),
        ("rh", 0, False, 72),
        ("lh", 0, False, 48),
        ("kit", 0, True, 36),
    ):
        track = symusic.Track(name, program, drum)
        track.notes.append(symusic.Note(0, 96, pitch, 64))
        track.notes.append(symusic.Note(96, 48, pitch + 2, 64))
        score.tracks.append(track)
    return score


def programs_of(score: symusic.Score) -> list[int]:
    return [-1 if track.is_drum else track.program for track in score.tracks]


def test_tracks_of_one_program_merge_and_drums_are_optional() -> None:
    score = multitrack()
    plain = get_codec("events")
    assert programs_of(plain.quantize(score)) == [0, 48]
    assert plain.quantize(score).tracks[0].note_num() == 4  # rh and lh
    drums = get_codec("events", drums=True)
    assert programs_of(drums.quantize(score)) == [0, 48, -1]
    assert programs_of(drums.decode(drums.encode(score))) == [0, 48, -1]
    merged = get_codec("events", programs=False)
    assert programs_of(merged.quantize(score)) == [0]
    assert merged.quantize(score).note_num() == 6
    for codec in (plain, drums, merged):
        decoded = codec.decode(codec.encode(score))
        assert np.array_equal(note_table(decoded), note_table(codec.quantize(score)))


def test_unrepresentable_pieces_raise_one_line_errors() -> None:
    codec = get_codec("events")
    with pytest.raises(CodecError, match=r"pitch range 21\.\.108"):
        codec.encode(make_score([(0, Q, 10, 80), (0, Q, 115, 80)]))
    with pytest.raises(CodecError, match="only drum tracks"):
        codec.encode(make_score([(0, Q, 36, 80)], is_drum=True))
    assert get_codec("events", drums=True).encode(make_score([(0, Q, 36, 80)], is_drum=True))


def test_decode_drops_specials_anywhere_and_reads_anything() -> None:
    codec = get_codec("events")
    score = make_score([(0, Q, 60, 80), (Q, Q, 62, 80)])
    ids = codec.encode(score)
    sep, pad = codec.separator_id, codec.token_id("PAD_None")
    noisy = [sep, pad, *ids[:4], sep, *ids[4:], pad, sep, 10**6, -1]
    assert np.array_equal(note_table(codec.decode(noisy)), note_table(codec.decode(ids)))
    assert codec.decode([]).note_num() == 0
    pitch, duration = codec.token_id("Pitch_60"), codec.token_id("Duration_1.0.4")
    velocity = codec.token_id("Velocity_79")
    # incomplete notes are skipped: a pitch without duration, a pitch without velocity
    assert codec.decode([duration, duration, pitch]).note_num() == 0
    assert codec.decode([pitch, duration]).note_num() == 0
    assert codec.decode([duration, pitch, velocity, duration, pitch]).note_num() == 1


def test_long_pieces_and_long_gaps_round_trip() -> None:
    notes = [(k * 7 * Q // 2, 3 * Q, 40 + k % 40, 30 + k % 90) for k in range(200)]
    for tokenization in ("TSD", "REMI"):
        codec = get_codec("events", tokenization=tokenization, steps_per_quarter=12)
        score = make_score(notes, tpq=Q)
        assert np.array_equal(
            note_table(codec.decode(codec.encode(score))), note_table(codec.quantize(score))
        )


def test_pitch_shift_table_moves_pitches_only() -> None:
    codec = get_codec("events", drums=True)
    table = codec.pitch_shift_table(3)
    assert table[codec.token_id("Pitch_60")] == codec.token_id("Pitch_63")
    assert table[codec.token_id("Pitch_107")] == -1
    for token in ("PitchDrum_36", "Velocity_79", "TimeShift_1.0.4", "Program_0", "EOS_None"):
        assert table[codec.token_id(token)] == codec.token_id(token)
