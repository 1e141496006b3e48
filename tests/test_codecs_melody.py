"""The melody codec: its fixed vocabulary, the time series, keys, grid, polyphony and seed text."""

from __future__ import annotations

import numpy as np
import pytest
import symusic
from hypothesis import given, settings
from hypothesis import strategies as st

from continuo.codecs import get_codec
from continuo.codecs.keys import estimate_key, key_transposition, nearest_shift
from continuo.codecs.melody import (
    MELODY_VOCAB,
    MelodyCodec,
    format_melody_tokens,
    is_pitch,
    melody_from_text,
    parse_melody_text,
    pitch_token,
    token_pitch,
)
from continuo.errors import CodecError, SeedError
from continuo.score import make_score, note_table, pitch_name

Q = 480  # ticks per quarter of the scores made here; a 16th is 120


def tokens(codec: MelodyCodec, score: symusic.Score) -> str:
    return " ".join(codec.ids_to_tokens(codec.encode(score)))


def words(text: str) -> list[str]:
    return text.split()


def plain(**options) -> MelodyCodec:
    return MelodyCodec(transpose=False, **options)


# -- vocabulary --------------------------------------------------------------------------------
def test_vocabulary_is_fixed_whatever_the_options() -> None:
    codec = get_codec("melody")
    assert codec.vocab[:3] == ["/", "r", "_"]
    assert codec.vocab[3:] == [str(p) for p in range(128)]
    assert codec.vocab_size == 131 and list(MELODY_VOCAB) == codec.vocab
    assert codec.separator_id == 0
    assert codec.pitch_id(60) == 63 == codec.token_id(pitch_token(60))
    other = MelodyCodec(steps_per_quarter=12, transpose=False, polyphony="top")
    assert other.vocab == codec.vocab


def test_pitch_token_helpers() -> None:
    assert pitch_token(0) == "0" and pitch_token(127) == "127"
    with pytest.raises(ValueError):
        pitch_token(128)
    assert is_pitch("64") and not is_pitch("_") and not is_pitch("064") and not is_pitch("128")
    assert token_pitch("64") == 64
    with pytest.raises(ValueError):
        token_pitch("r")
    assert pitch_name(60) == "C4" and pitch_name(61) == "C#4" and pitch_name(0) == "C-1"


# -- the time series ---------------------------------------------------------------------------
def test_encodes_one_symbol_per_sixteenth() -> None:
    # G4 quarter, G4 quarter, F4 eighth, E4 dotted eighth, eighth rest, D4 16th
    quarters = [(0, Q, 67, 90), (Q, Q, 67, 90)]
    score = make_score([*quarters, (2 * Q, 240, 65, 90), (1200, 360, 64, 90), (1800, 120, 62, 90)])
    assert tokens(plain(), score) == "67 _ _ _ 67 _ _ _ 65 _ 64 _ _ r _ 62"
    assert tokens(plain(steps_per_quarter=2), make_score([(0, Q, 60, 80)])) == "60 _"


def test_leading_rests_are_dropped_and_the_song_ends_with_its_last_note() -> None:
    score = make_score([(2 * Q, 240, 60, 80), (3 * Q, 120, 62, 80)])
    assert tokens(plain(), score) == "60 _ r _ 62"
    quantized = plain().quantize(score)
    assert note_table(quantized)[:, :3].tolist() == [[0, 240, 60], [480, 120, 62]]
    assert quantized.tracks[0].notes[0].velocity == 80


def test_melody_is_the_first_pitched_track() -> None:
    score = make_score([(0, Q, 36, 100)], is_drum=True)
    score.tracks.append(symusic.Track("empty", 0, False))
    for pitch, start in ((72, 0), (48, 0)):
        track = symusic.Track("", 0, False)
        track.notes.append(symusic.Note(start, Q, pitch, 80))
        score.tracks.append(track)
    assert MelodyCodec.melody_track(score) == 2
    assert tokens(plain(), score) == "72 _ _ _"


def test_decode_is_lenient() -> None:
    codec = plain()
    ids = codec.tokens_to_ids
    # separators at the ends are ignored; "_" at the start and after "r" extend the rest
    score = codec.decode(ids(words("/ _ _ 60 _ r _ 62 /")))
    assert note_table(score)[:, :3].tolist() == [[240, 240, 60], [720, 120, 62]]
    # a "/" inside ends the note without taking time; ids outside the vocabulary are skipped
    score = codec.decode([63, 2, 0, 2, 999, -5, 65])
    assert note_table(score)[:, :3].tolist() == [[0, 240, 60], [360, 120, 62]]
    assert codec.decode([]).note_num() == 0
    assert codec.decode(ids(["r", "_", "/"])).note_num() == 0
    assert codec.length_in_quarters(ids(words("60 _ r _ /"))) == 1.0


# -- keys --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sharps", "minor", "shift"),
    [(0, 0, 0), (1, 0, 5), (1, 1, 5), (-1, 0, -5), (2, 0, -2), (-3, 1, -3), (6, 0, 6), (-6, 0, 6)],
)
def test_transposition_from_the_key_signature(sharps: int, minor: int, shift: int) -> None:
    score = make_score([(0, Q, 64, 80)], key=(sharps, minor))
    assert MelodyCodec().transposition(score) == shift
    assert plain().transposition(score) == 0


def scale_melody(tonic: int, steps: list[int]) -> symusic.Score:
    return make_score([(k * Q, Q, tonic + step, 80) for k, step in enumerate(steps)])


MAJOR_TUNE = [0, 2, 4, 5, 7, 5, 4, 2, 0, 4, 7, 12, 7, 4, 0]
MINOR_TUNE = [0, 2, 3, 5, 7, 8, 11, 12, 11, 8, 7, 3, 0, -1, 0]


@pytest.mark.parametrize("tonic", [60, 62, 65, 66, 67, 70])
def test_transposition_estimated_without_key_signature(tonic: int) -> None:
    codec = MelodyCodec()
    assert codec.transposition(scale_melody(tonic, MAJOR_TUNE)) == nearest_shift(-tonic)
    assert codec.transposition(scale_melody(tonic, MINOR_TUNE)) == nearest_shift(9 - tonic)
    assert estimate_key(np.array([tonic + s for s in MINOR_TUNE]), np.ones(15)) == (tonic % 12, 1)


def test_transposed_melody_goes_back_to_its_key() -> None:
    score = scale_melody(66, MAJOR_TUNE)  # F# major
    codec = MelodyCodec()
    shift = codec.transposition(score)
    assert shift == 6 and key_transposition(6, 0) == 6
    decoded = codec.decode(codec.encode(score))
    assert sorted({n.pitch % 12 for n in decoded.tracks[0].notes}) == [0, 2, 4, 5, 7]
    assert decoded.key_signatures[0].key == 0 and decoded.key_signatures[0].tonality == 0
    back = decoded.shift_pitch(-shift)
    assert np.array_equal(note_table(back), note_table(plain().quantize(score)))
    minor = codec.decode(codec.encode(scale_melody(64, MINOR_TUNE)))
    assert minor.key_signatures[0].tonality == 1  # A minor, not C major


def test_transposition_out_of_midi_range_is_refused() -> None:
    with pytest.raises(CodecError, match=r"0\.\.127"):
        MelodyCodec().encode(make_score([(0, Q, 126, 80)], key=(3, 0)))  # A major: +3


# -- grid --------------------------------------------------------------------------------------
OFF_GRID = make_score([(0, Q, 60, 80), (Q + 30, 450, 62, 80), (2 * Q + 100, 380, 64, 80)])


def test_off_grid_notes_are_quantized_or_refused() -> None:
    assert tokens(plain(), OFF_GRID) == "60 _ _ _ 62 _ _ _ r 64 _ _"
    assert plain().off_grid_onsets(OFF_GRID) == [pytest.approx(1.0625), pytest.approx(2.2083, 1e-3)]
    with pytest.raises(CodecError, match=r"quarter 1\.062 .*1/4-quarter grid"):
        plain(off_grid="skip").encode(OFF_GRID)
    # a finer grid takes what a coarser one refuses: triplet eighths
    triplets = make_score([(k * 160, 160, 60 + k, 80) for k in range(6)])
    with pytest.raises(CodecError, match="note at quarter 0 is off"):  # its end is off
        plain(off_grid="skip").encode(triplets)
    assert tokens(plain(off_grid="skip", steps_per_quarter=12), triplets).split()[:5] == [
        "60", "_", "_", "_", "61"
    ]  # fmt: skip


def test_short_notes_last_at_least_one_step() -> None:
    score = make_score([(0, 20, 60, 80), (Q, Q, 62, 80)])
    assert tokens(plain(), score) == "60 r _ _ 62 _ _ _"


# -- polyphony ---------------------------------------------------------------------------------
CHORD = make_score([(0, Q, 60, 80), (0, Q, 64, 80), (0, Q, 67, 80), (Q, Q, 65, 80)])
VOICES = make_score(
    [(0, 2 * Q, 72, 80), (Q, 2 * Q, 60, 80), (3 * Q, Q, 62, 80), (3 * Q + 240, Q, 74, 80)]
)


def test_chords_are_refused_by_default_naming_the_onset() -> None:
    with pytest.raises(CodecError, match="notes overlap at quarter 0"):
        plain().encode(CHORD)
    with pytest.raises(CodecError, match=r"notes overlap at quarter 1\b"):
        plain().encode(VOICES)


def test_top_keeps_the_highest_line() -> None:
    assert tokens(plain(polyphony="top"), CHORD) == "67 _ _ _ 65 _ _ _"
    # 60 starts under the sounding 72 and is dropped; 74 starts over 62 and cuts it
    assert tokens(plain(polyphony="top"), VOICES) == "72 _ _ _ _ _ _ _ r _ _ _ 62 _ 74 _ _ _"


def test_restruck_and_duplicated_notes_are_one_line_in_both_modes() -> None:
    restruck = make_score([(0, 2 * Q, 60, 80), (Q, Q, 60, 80), (Q, 240, 60, 80)])
    for mode in ("skip", "top"):
        assert tokens(plain(polyphony=mode), restruck) == "60 _ _ _ 60 _ _ _"


def test_notes_closer_than_the_grid_are_not_a_chord() -> None:
    # Essen's dotted 16th + 32nd pickup: the 32nd and the next note land on one 16th step
    pickup = make_score([(0, 180, 69, 80), (180, 60, 70, 80), (240, 240, 72, 80)])
    assert tokens(plain(), pickup) == "69 _ 72 _"
    # 16th triplets: three notes on two steps, the later one kept
    triplets = make_score([(k * 80, 80, 60 + 2 * k, 80) for k in range(3)] + [(240, 240, 67, 80)])
    assert tokens(plain(), triplets) == "60 64 67 _"


def test_legato_overlaps_under_half_a_step_are_one_line() -> None:
    legato = make_score([(0, Q + 50, 60, 80), (Q, Q, 62, 80)])
    assert tokens(plain(), legato) == "60 _ _ _ 62 _ _ _"
    with pytest.raises(CodecError, match="notes overlap at quarter 1"):
        plain().encode(make_score([(0, Q + 70, 60, 80), (Q, Q, 62, 80)]))


@settings(max_examples=60, deadline=None)
@given(
    notes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 8), st.integers(40, 90)),
        min_size=1,
        max_size=30,
    ),
    sharps=st.one_of(st.none(), st.integers(-7, 7)),
)
def test_monophonic_melodies_round_trip_on_the_grid(notes, sharps) -> None:
    onset, table = 0, []
    for gap, length, pitch in notes:
        onset += gap * 120
        table.append((onset, length * 120, pitch, 80))
        onset += length * 120
    score = make_score(table, key=None if sharps is None else (sharps, 0))
    for codec in (plain(off_grid="skip"), MelodyCodec()):
        ids = codec.encode(score)
        assert len(ids) == (onset - table[0][0]) // 120
        decoded = codec.decode(ids)
        shifted = decoded.shift_pitch(-codec.transposition(score))
        expected = note_table(score)
        expected[:, 0] -= table[0][0]
        expected[:, 3] = 80
        assert np.array_equal(note_table(shifted), expected)


# -- seed text ---------------------------------------------------------------------------------
SAME = ["67", "_", "67", "_", "65", "64", "_", "r"]


@pytest.mark.parametrize(
    "text",
    [
        "67 _ 67 _ 65 64 _ r",
        "[67, -2, 67, -2, 65, 64, -2, -1]",
        "G4 _ G4 _ F4 E4 _ r",
        "  g4,_,G4 _ F4 Fb4 -2 R ",
        "[67,-2,G4,_,65,64,-2,r]",
    ],
)
def test_seed_syntaxes_give_the_same_tokens(text: str) -> None:
    assert parse_melody_text(text) == SAME


def test_note_names_and_separators() -> None:
    assert parse_melody_text("C4 C#4 Db4 F#4 Bb3 Eb5 B#3 Cb4 E##4 C-1 G9 /") == [
        "60", "61", "61", "66", "58", "75", "60", "59", "66", "0", "127", "/"
    ]  # fmt: skip
    assert parse_melody_text("") == [] and parse_melody_text("[]") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("67 _ banana", "seed token 3 'banana' is not a MIDI pitch, a note name, '_', 'r' or '/'"),
        ("60 200", "seed token 2 '200' is out of range"),
        ("[60, -3]", "seed token 2 '-3' is out of range"),
        ("G4 H4", "seed token 2 'H4'"),
        ("G10", "seed token 1 'G10' is pitch 139, out of range 0..127"),
        ("60 _ 6.5", "seed token 3 '6.5'"),
        ("[60, 62", "'[...]'"),
    ],
)
def test_bad_seeds_name_the_token_and_its_position(text: str, message: str) -> None:
    with pytest.raises(SeedError) as error:
        parse_melody_text(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_format_reads_back() -> None:
    assert format_melody_tokens(SAME) == "67 _ 67 _ 65 64 _ r"
    assert format_melody_tokens(SAME, names=True) == "G4 _ G4 _ F4 E4 _ r"
    for text in (format_melody_tokens(SAME), format_melody_tokens(SAME, names=True)):
        assert parse_melody_text(text) == SAME
    codec = MelodyCodec()
    score = codec.decode(codec.tokens_to_ids(parse_melody_text("[60, -2, 60, -2, 67, -2]")))
    assert note_table(score)[:, :3].tolist() == [[0, 240, 60], [240, 240, 60], [480, 240, 67]]


def test_text_seeds_keep_their_own_key() -> None:
    seed = melody_from_text("D4 _ E4 _ F#4 _ G4 _ A4 _ B4 _ C#5 _ D5 _ A4 _ F#4 _ D4 _")
    assert len(seed.key_signatures) == 0
    assert MelodyCodec().transposition(seed) == -2  # D major, estimated from the notes
    assert note_table(melody_from_text("60 _ 62", steps_per_quarter=2))[:, :3].tolist() == [
        [0, 480, 60],
        [480, 240, 62],
    ]


def test_pitch_shift_table_keeps_specials_and_drops_what_leaves_the_range() -> None:
    codec = MelodyCodec()
    table = codec.pitch_shift_table(2)
    assert table[:3].tolist() == [0, 1, 2]
    assert table[codec.pitch_id(60)] == codec.pitch_id(62)
    assert table[codec.pitch_id(126)] == -1
    assert codec.pitch_shift_table(-1)[codec.pitch_id(0)] == -1
