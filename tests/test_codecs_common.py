"""Every registered codec: round trips on real files, idempotence, saving and rebuilding, and
property tests on generated scores and on arbitrary id sequences."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import symusic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from continuo.codecs import CODECS, Codec, codec_from_dict, get_codec
from continuo.errors import CodecError, ConfigError
from continuo.score import DEFAULT_TPQ, Score, note_table
from tests.conftest import SHARED_DATA

# Every registered codec with its defaults, plus variants that exercise the other options.
VARIANTS: list[tuple[str, dict]] = [(name, {}) for name in sorted(CODECS)] + [
    ("melody", {"polyphony": "top", "transpose": False, "steps_per_quarter": 12}),
    ("events", {"tokenization": "REMI", "drums": True}),
    ("events", {"programs": False, "velocity_bins": 0, "steps_per_quarter": 12, "max_duration": 4}),
    # the bundled piano model's codec
    ("events", {"tokenization": "REMI", "velocity_bins": 4, "transpose": True}),
    ("pianoroll", {"onsets": True, "steps_per_quarter": 12}),
]
VARIANT_IDS = [
    name + "".join(f"-{k}={v}" for k, v in options.items()) for name, options in VARIANTS
]


@functools.cache
def make_codec(index: int) -> Codec:
    name, options = VARIANTS[index]
    return get_codec(name, **options)


def same_notes(a: Score, b: Score) -> bool:
    return np.array_equal(note_table(a), note_table(b))


# -- real sources ------------------------------------------------------------------------------
def music21_to_score(stream) -> Score:
    """continuo.io.from_music21 when it is there, else a small conversion for the tests."""
    try:
        from continuo.io import from_music21
    except ImportError:
        pass
    else:
        return from_music21(stream)
    score = symusic.Score(DEFAULT_TPQ)
    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    for part in parts:
        track = symusic.Track("", 0, False)
        for note in part.stripTies().flatten().notes:
            onset = round(float(note.offset) * DEFAULT_TPQ)
            duration = round(float(note.quarterLength) * DEFAULT_TPQ)
            for pitch in note.pitches:
                track.notes.append(symusic.Note(onset, duration, pitch.midi, 80))
        score.tracks.append(track)
    signatures = list(stream.recurse().getElementsByClass("KeySignature"))
    if signatures:
        minor = getattr(signatures[0], "mode", "major") == "minor"
        score.key_signatures.append(symusic.KeySignature(0, signatures[0].sharps, int(minor)))
    return score


def read_file(path: Path) -> list[Score]:
    """continuo.io.read_pieces once it exists, else symusic (MIDI) or music21 (the rest)."""
    try:
        from continuo.io import read_pieces
    except ImportError:
        read_pieces = None
    if read_pieces is not None:
        return [piece.score for piece in read_pieces(path)]
    if path.suffix in (".mid", ".midi"):
        return [symusic.Score(str(path))]
    import music21

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [music21_to_score(music21.converter.parse(str(path)))]


def jsb_scores(count: int) -> list[Score]:
    """The first test-split JSB chorales (16th grid), by continuo.io when it is there, else
    each pitch's runs of steps as one note."""
    path = SHARED_DATA / "jsb_chorales" / "jsb-chorales-16th.json"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    try:
        from continuo.io import read_pieces
    except ImportError:
        pass
    else:
        return [p.score for p in read_pieces(path) if "#test/" in p.name][:count]
    chorales = json.loads(path.read_text())["test"][:count]
    scores = []
    for steps in chorales:
        roll = np.zeros((len(steps) + 1, 128), dtype=bool)
        for t, pitches in enumerate(steps):
            roll[t, [int(p) for p in pitches]] = True
        notes = []
        for pitch in np.flatnonzero(roll.any(axis=0)):
            edges = np.diff(np.r_[0, roll[:, pitch].astype(int)])
            for start, end in zip(
                np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True
            ):
                notes.append(symusic.Note(int(start) * 120, int(end - start) * 120, int(pitch), 80))
        score = symusic.Score(DEFAULT_TPQ)
        track = symusic.Track("", 0, False)
        track.notes.extend(sorted(notes, key=lambda n: (n.time, n.pitch)))
        score.tracks.append(track)
        scores.append(score)
    return scores


def written_midi(folder: Path) -> list[Score]:
    """MIDI files written here: several tracks, programs, drums, odd resolutions, off-grid."""
    rng = np.random.default_rng(7)
    paths = []
    for n, tpq in enumerate((96, 384, 1000)):
        score = symusic.Score(tpq)
        tracks = [("rh", 0, False), ("lh", 0, False), ("strings", 48, False), ("kit", 0, True)]
        for name, program, drum in tracks:
            track = symusic.Track(name, program, drum)
            time = 0
            for _ in range(40):
                time += int(rng.integers(0, tpq))  # any tick: most are off the 16th grid
                length = int(rng.integers(tpq // 8, 3 * tpq))
                chord = rng.integers(1, 4) if name == "lh" else 1
                for pitch in rng.choice(np.arange(30, 100), size=chord, replace=False):
                    velocity = int(rng.integers(20, 127))
                    track.notes.append(symusic.Note(time, length, int(pitch), velocity))
            score.tracks.append(track)
        score.tempos.append(symusic.Tempo(0, 100.0))
        score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
        paths.append(folder / f"poly{n}.mid")
        score.dump_midi(paths[-1])
    # a monophonic tune in G major, slightly off the grid, for the melody codec
    tune = symusic.Score(220)
    track = symusic.Track("tune", 73, False)
    for k, pitch in enumerate([67, 71, 74, 72, 71, 69, 67, 66, 67]):
        track.notes.append(symusic.Note(k * 110 + (3 if k % 3 == 0 else 0), 100, pitch, 90))
    tune.tracks.append(track)
    tune.key_signatures.append(symusic.KeySignature(0, 1, 0))
    paths.append(folder / "tune.mid")
    tune.dump_midi(paths[-1])
    return [score for path in paths for score in read_file(path)]


@functools.cache
def load_source(name: str, folder: str) -> tuple[Score, ...]:
    if name == "essen_kern":
        kinder = SHARED_DATA / "essen_kern" / "deutschl" / "kinder"
        if not kinder.exists():
            pytest.skip(f"{kinder} is not here")
        return tuple(s for path in sorted(kinder.glob("*.krn"))[:12] for s in read_file(path))
    if name == "jsb":
        return tuple(jsb_scores(5))
    if name == "music21_corpus":
        import music21

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            streams = [music21.corpus.parse("bach/bwv66.6"), music21.corpus.parse("bach/bwv7.7")]
            for number in (1, 2, 3, 4):  # tunes of an ABC file of Essen folk songs
                streams.append(music21.corpus.parse("essenFolksong/altdeu10", number=number))
        return tuple(music21_to_score(stream) for stream in streams)
    if name == "written_midi":
        return tuple(written_midi(Path(folder)))
    if name == "pop909":
        pop909 = SHARED_DATA / "pop909"
        if not pop909.exists():
            pytest.skip(f"{pop909} is not here")
        return tuple(s for n in ("001", "250", "909") for s in read_file(pop909 / n / f"{n}.mid"))
    raise AssertionError(name)


SOURCES = ["essen_kern", "jsb", "music21_corpus", "written_midi", "pop909"]


@pytest.fixture(scope="module")
def midi_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("codec-midi"))


def encodable(codec: Codec, score: Score) -> list[int] | None:
    """The ids of ``score``, or None where the codec refuses it for a reason it should."""
    try:
        return codec.encode(score)
    except CodecError as error:
        polyphonic_for_melody = codec.name == "melody" and codec.config.polyphony == "skip"
        assert polyphonic_for_melody and "overlap" in str(error), str(error)
        return None


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("index", range(len(VARIANTS)), ids=VARIANT_IDS)
def test_round_trip_on_real_files(index: int, source: str, midi_folder: str) -> None:
    codec = make_codec(index)
    encoded = 0
    for score in load_source(source, midi_folder):
        ids = encodable(codec, score)
        if ids is None:
            continue
        encoded += 1
        assert ids and all(0 <= i < codec.vocab_size for i in ids)
        assert codec.separator_id not in ids
        assert same_notes(codec.decode(ids), codec.quantize(score))
        assert codec.encode(codec.decode(ids)) == ids  # idempotence
    assert encoded or (codec.name == "melody" and source in ("jsb", "music21_corpus"))


def test_melody_codec_encodes_the_monophonic_sources(midi_folder: str) -> None:
    codec = get_codec("melody")
    for source in ("essen_kern", "written_midi"):
        scores = load_source(source, midi_folder)
        encoded = [score for score in scores if encodable(codec, score) is not None]
        assert len(encoded) >= (1 if source == "written_midi" else len(scores))


# -- saving and rebuilding ---------------------------------------------------------------------
def test_registry_keys_are_the_codec_names() -> None:
    assert sorted(CODECS) == ["events", "melody", "pianoroll"]
    for name, codec_class in CODECS.items():
        assert codec_class.name == name and isinstance(codec_class.version, int)


@pytest.mark.parametrize("index", range(len(VARIANTS)), ids=VARIANT_IDS)
def test_to_dict_rebuilds_the_same_codec_through_json(index: int) -> None:
    codec = make_codec(index)
    saved = json.loads(json.dumps(codec.to_dict()))
    rebuilt = codec_from_dict(saved)
    assert type(rebuilt) is type(codec)
    assert rebuilt.config == codec.config
    assert rebuilt.vocab == codec.vocab
    assert rebuilt.separator in rebuilt.vocab
    assert len(set(codec.vocab)) == codec.vocab_size


@pytest.mark.parametrize("name", sorted(CODECS))
def test_codec_from_dict_refuses_other_versions_and_vocabularies(name: str) -> None:
    saved = get_codec(name).to_dict()
    with pytest.raises(ConfigError, match="version"):
        codec_from_dict({**saved, "version": saved["version"] + 1})
    with pytest.raises(ConfigError, match="vocabulary"):
        codec_from_dict({**saved, "vocab": [*saved["vocab"], "extra"]})


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("melody", {"steps_per_quarter": 7}),
        ("melody", {"off_grid": "round"}),
        ("melody", {"polyphony": "all"}),
        ("events", {"tokenization": "MIDILike"}),
        ("events", {"velocity_bins": 200}),
        ("events", {"drums": True, "programs": False}),
        ("events", {"low": 90, "high": 80}),
        ("pianoroll", {"steps_per_quarter": 0}),
        ("pianoroll", {"high": 128}),
        ("pianoroll", {"colour": "red"}),
    ],
)
def test_bad_options_raise_config_error(name: str, options: dict) -> None:
    with pytest.raises(ConfigError, match=name):
        get_codec(name, **options)


@pytest.mark.parametrize("name", sorted(CODECS))
def test_empty_and_drum_only_pieces_raise_codec_error(name: str) -> None:
    codec = get_codec(name)
    with pytest.raises(CodecError, match="no notes"):
        codec.encode(symusic.Score(DEFAULT_TPQ))
    drums = symusic.Score(DEFAULT_TPQ)
    drums.tracks.append(symusic.Track("kit", 0, True))
    drums.tracks[0].notes.append(symusic.Note(0, 120, 36, 100))
    with pytest.raises(CodecError, match="drum"):
        codec.encode(drums)


# -- properties --------------------------------------------------------------------------------
@st.composite
def scores(draw: st.DrawFn) -> Score:
    """Any small score: any resolution, 1-3 tracks (some drums), notes anywhere."""
    tpq = draw(st.sampled_from([24, 96, 100, 384, 480, 960]))
    score = symusic.Score(tpq)
    for _ in range(draw(st.integers(1, 3))):
        program = draw(st.sampled_from([0, 0, 24, 48]))
        track = symusic.Track("", program, draw(st.sampled_from([False, False, False, True])))
        notes = st.tuples(
            st.integers(0, 12 * tpq),
            st.integers(0, 10 * tpq),
            st.integers(15, 115),
            st.integers(1, 127),
        )
        for onset, duration, pitch, velocity in draw(st.lists(notes, max_size=25)):
            track.notes.append(symusic.Note(onset, duration, pitch, velocity))
        score.tracks.append(track)
    if draw(st.booleans()):
        score.key_signatures.append(symusic.KeySignature(0, draw(st.integers(-7, 7)), 0))
    return score


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The melody codec takes polyphonic input only with polyphony="top".
PROPERTY_VARIANTS = [i for i, (n, o) in enumerate(VARIANTS) if n != "melody" or "polyphony" in o]


@pytest.mark.parametrize(
    "index", PROPERTY_VARIANTS, ids=[VARIANT_IDS[i] for i in PROPERTY_VARIANTS]
)
@PROPERTY
@given(score=scores())
def test_round_trip_and_idempotence_on_generated_scores(index: int, score: Score) -> None:
    codec = make_codec(index)
    try:
        ids = codec.encode(score)
    except CodecError as error:
        assert "no notes" in str(error) or "drum" in str(error) or "pitches 0..127" in str(error)
        return
    decoded = codec.decode(ids)
    assert same_notes(decoded, codec.quantize(score))
    assert codec.encode(decoded) == ids
    assert codec.length_in_quarters(ids) == decoded.end() / DEFAULT_TPQ


@pytest.mark.parametrize("index", range(len(VARIANTS)), ids=VARIANT_IDS)
@PROPERTY
@given(data=st.data())
def test_any_id_sequence_decodes(index: int, data: st.DataObject) -> None:
    codec = make_codec(index)
    ids = data.draw(st.lists(st.integers(0, codec.vocab_size - 1), max_size=120))
    decoded = codec.decode(ids)
    assert isinstance(decoded, Score)
    assert decoded.ticks_per_quarter == DEFAULT_TPQ
    if decoded.note_num() == 0:
        return
    # whatever a model emits decodes to a score the codec represents exactly
    again = codec.decode(codec.encode(decoded))
    assert same_notes(again, codec.quantize(decoded))
    if codec.name != "melody":  # melody drops leading rests and may transpose
        assert same_notes(again, decoded)


@pytest.mark.parametrize("index", range(len(VARIANTS)), ids=VARIANT_IDS)
@PROPERTY
@given(score=scores(), shift=st.integers(-7, 7))
def test_pitch_shift_table_moves_decoded_pitches(index: int, score: Score, shift: int) -> None:
    codec = make_codec(index)
    if codec.name == "melody" and codec.config.polyphony == "skip":
        codec = get_codec("melody", polyphony="top")
    try:
        ids = codec.encode(score)
    except CodecError:
        return
    table = codec.pitch_shift_table(shift)
    assert table is not None and table.shape == (codec.vocab_size,)
    shifted = table[np.asarray(ids)]
    if (shifted < 0).any():
        return  # leaves the range: the trainer keeps such windows as they are
    expected = note_table(codec.decode(ids))
    expected[:, 2] += shift * (expected[:, 4] != _drum_track(codec.decode(ids)))
    expected = expected[np.lexsort((expected[:, 4], expected[:, 2], expected[:, 0]))]
    assert np.array_equal(note_table(codec.decode(shifted.tolist())), expected)


def _drum_track(score: Score) -> int:
    for index, track in enumerate(score.tracks):
        if track.is_drum:
            return index
    return -1


@pytest.mark.parametrize("index", range(len(VARIANTS)), ids=VARIANT_IDS)
def test_length_in_quarters_covers_the_decoded_notes(index: int, midi_folder: str) -> None:
    codec = make_codec(index)
    for score in load_source("written_midi", midi_folder):
        ids = encodable(codec, score)
        if ids is None:
            continue
        decoded = codec.decode(ids)
        assert codec.length_in_quarters(ids) == pytest.approx(decoded.end() / DEFAULT_TPQ)
