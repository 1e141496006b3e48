"""The ``melody`` extension method: a take continued with new notes in its own sound, through
:class:`Extender` and ``continuo extend --method melody``, with the bundled ``folk`` model."""

from __future__ import annotations

import numpy as np
import pytest

from continuo.audio.extender import ADVICE, METHODS, Extender
from continuo.audio.melody import play_notes, recorded_notes
from continuo.audio.transcription import transcribe
from continuo.cli import main
from continuo.errors import ConfigError
from continuo.generation import Generator
from continuo.io.audio import Audio, read_audio, write_audio
from tests.test_transcription import ENTCHEN, SR, render


@pytest.fixture(scope="module")
def take() -> Audio:
    audio, _ = render(ENTCHEN, 73, 100.0)
    return audio


@pytest.fixture(scope="module")
def continuer():
    return Generator.from_pretrained("folk").note_continuer(top_p=0.95, rng_seed=3)


def test_new_notes_follow_the_take_in_its_own_sound(take: Audio, continuer) -> None:
    result = Extender.load("melody", continuer).extend(take, take.duration + 8.0)
    assert result.duration == pytest.approx(take.duration + 8.0, abs=1 / SR)
    assert result.method == "melody" and result.details["new_notes"] > 4
    [seam] = result.splices
    assert seam.source_to is None and 0 < seam.output_time <= take.duration
    # the take is kept verbatim up to the crossfade into the new notes
    fade = round((seam.output_time - 0.03) * SR)
    np.testing.assert_array_equal(result.samples[:fade], take.samples[:fade])
    # the new notes are played at their pitches: transcribing them finds them again
    start = round(seam.output_time * SR)
    again = transcribe(Audio(result.samples[start:], SR))
    asked = [p for _, _, p in result.details["notes"]]
    heard = [int(p) for p in again.pitches]
    assert sum(p in asked for p in heard) >= 0.8 * len(heard)
    # no click at the seam: the largest sample step there is no larger than the take's own
    steps = np.abs(np.diff(result.samples[start - 2000 : start + 2000, 0]))
    assert steps.max() <= 1.5 * np.abs(np.diff(take.samples[:, 0])).max()


def test_the_sampler_plays_each_note_from_the_nearest_recorded_one(take: Audio) -> None:
    heard = transcribe(take)
    bank = recorded_notes(take, heard)
    assert {note.pitch for note in bank} == {p for p, _ in ENTCHEN}
    out = play_notes(bank, [(0.1, 0.9, 67), (1.0, 3.0, 72), (3.1, 3.6, 58)], SR, 4 * SR, 1)
    assert out.shape == (4 * SR, 1)
    assert not out[: int(0.09 * SR)].any() and not out[int(3.61 * SR) :].any()
    notes = transcribe(Audio(out, SR), name="played")
    # 72 is the take's 69 moved up 3 and held by loops; 58 its 60 moved down 2
    assert [int(p) for p in notes.pitches] == [67, 72, 58]


def test_registry_and_bad_settings() -> None:
    assert set(METHODS) == set(ADVICE) == {"structure", "neural", "melody"}
    with pytest.raises(ConfigError, match="note continuer"):
        Extender.load("melody")


def test_extend_command_with_the_melody_method(take: Audio, tmp_path, capsys) -> None:
    source = write_audio(tmp_path / "hum.wav", take.samples, SR)
    out = tmp_path / "more.wav"
    assert main(["extend", str(source), "--duration", "20", "--out", str(out),
                 "--method", "melody", "--seed", "1"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "20.00 s from" in printed and "heard 17 notes" in printed
    assert read_audio(out).duration == pytest.approx(20.0, abs=0.001)
    # a take with two voices at once is refused in one line, and nothing is written
    low, _ = render(ENTCHEN[:8], 73, 100.0)
    high, _ = render([(p + 7, q) for p, q in ENTCHEN[:8]], 73, 100.0, seed=1)
    n = min(low.n_samples, high.n_samples)
    duet = write_audio(tmp_path / "duet.wav", low.samples[:n] + high.samples[:n], SR)
    assert main(["extend", str(duet), "--duration", "20", "--out", str(tmp_path / "x.wav"),
                 "--method", "melody"]) == 2  # fmt: skip
    assert "more than one voice" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()
    # the help says when each method is the right one
    with pytest.raises(SystemExit):
        main(["extend", "--help"])
    assert "which method:" in capsys.readouterr().out
