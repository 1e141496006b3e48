"""The web app's pages through Streamlit's own testing API (``streamlit.testing.v1.AppTest``).

Every page runs in-process against tiny models trained here in seconds (``melody_run`` from
conftest, a polyphonic ``events`` model and a neural audio model below), offered through
``CONTINUO_APP_MODELS`` exactly as ``continuo app --models`` does. The helpers that make those
models are in ``tests/app_fixtures.py``, shared with ``tests/test_browser.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest

from continuo.app import ENTRY_SCRIPT, MAX_UPLOAD_ENV, MODELS_ENV
from tests.app_fixtures import models_folder, synthetic_recording, train_piano_run

TIMEOUT = 180  # generous: a cold librosa compile on a busy 2-core machine takes a while


@pytest.fixture(autouse=True)
def _restore_main_module():
    """AppTest runs each page as ``__main__`` and leaves it there; put the real one back.

    Otherwise a later test in this worker that starts a spawn process pool (continuo prepare)
    has its children re-run the page script as their main module, and they die.
    """
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def piano_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_piano_run(tmp_path_factory.mktemp("piano"))


@pytest.fixture(scope="session")
def audio_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from continuo.audio.neural import ModelConfig, TrainConfig, train_audio

    root = tmp_path_factory.mktemp("audio-model")
    song = synthetic_recording(root / "groove.wav", bars=4)
    model = ModelConfig(arch="frame_rnn", hidden=16, context=8, horizon=4)
    train_audio(
        [song], root / "run", model, TrainConfig(steps=4, batch=4, window=8), progress=False
    )
    return root / "run"


@pytest.fixture(scope="session")
def app_models(
    tmp_path_factory: pytest.TempPathFactory, melody_run: Path, piano_run: Path, audio_run: Path
) -> Path:
    return models_folder(
        tmp_path_factory.mktemp("app") / "models",
        melody_tiny=melody_run,
        piano_tiny=piano_run,
        audio_tiny=audio_run,
    )


@pytest.fixture
def models_env(monkeypatch: pytest.MonkeyPatch, app_models: Path) -> Path:
    monkeypatch.setenv(MODELS_ENV, str(app_models))
    monkeypatch.delenv(MAX_UPLOAD_ENV, raising=False)
    return app_models


def _page(name: str) -> None:
    """The script of a one-page AppTest: import the page module and draw it."""
    import importlib

    importlib.import_module(f"continuo.app.{name}").render()


def page_test(name: str) -> AppTest:
    return AppTest.from_function(_page, args=(name,), default_timeout=TIMEOUT).run()


def errors(at: AppTest) -> list[str]:
    return [error.value for error in at.error]


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


# -- discovery ---------------------------------------------------------------------------------
def test_models_are_found_and_classified_without_loading(app_models: Path, tmp_path: Path):
    from continuo.app.models import AUDIO, MELODY, POLYPHONIC, discover_models

    found = {info.label: info for info in discover_models(app_models) if not info.bundled}
    assert {label: info.kind for label, info in found.items()} == {
        "audio-tiny": AUDIO,
        "melody-tiny": MELODY,
        "piano-tiny": POLYPHONIC,
    }
    assert "events codec" in found["piano-tiny"].description
    # a run folder given itself, and folders that are not models
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "config.json").write_text("not json")
    (tmp_path / "junk" / "model.safetensors").write_bytes(b"")
    assert [i.label for i in discover_models(tmp_path) if not i.bundled] == []
    assert [i.kind for i in discover_models(app_models / "melody-tiny") if not i.bundled] == [
        MELODY
    ]


# -- the entry script --------------------------------------------------------------------------
def test_entry_script_opens_on_the_melody_page(models_env: Path) -> None:
    at = AppTest.from_file(str(ENTRY_SCRIPT), default_timeout=TIMEOUT).run()
    no_traceback(at)
    assert at.title[0].value.endswith(" Melody")
    footer = at.caption[-1].value
    # bundled (folk, piano) and the test runs (melody-tiny, piano-tiny, audio-tiny)
    assert "2 polyphonic" in footer and "1 audio" in footer and "uploads up to 20 MB" in footer
    assert "melody-tiny" in at.selectbox(key="melody-model").options


# -- melody ------------------------------------------------------------------------------------
def test_melody_keyboard_writes_the_seed_and_generate_shows_results(models_env: Path) -> None:
    at = page_test("melody")
    at.selectbox(key="melody-model").set_value("melody-tiny").run()
    at.text_input(key="melody-seed-text").set_value("60 _ 62 _").run()
    at.segmented_control(key="kb-length").set_value("quarter").run()
    at.button(key="kbw-2").click().run()  # E4, a quarter: four steps
    at.button(key="kbb-F#").click().run()
    at.button(key="kb-rest").click().run()
    assert at.text_input(key="melody-seed-text").value == "60 _ 62 _ E4 _ _ _ F#4 _ _ _ r _ _ _"
    at.button(key="kb-undo").click().run()
    assert at.text_input(key="melody-seed-text").value == "60 _ 62 _ E4 _ _ _ F#4 _ _ _"

    at.slider(key="melody-bars").set_value(2)
    at.number_input(key="melody-variations").set_value(2)
    at.button(key="melody-generate").click().run()
    no_traceback(at)
    assert errors(at) == []
    assert len(at.get("image")) == 2 and len(at.get("audio")) == 2
    names = [button.proto.label for button in at.download_button]
    assert names == ["MIDI", "MusicXML", "WAV"] * 2
    # results belong to the session: another rerun keeps them; the job's files are gone
    at.run()
    assert len(at.get("audio")) == 2
    tag = at.session_state["_continuo_session_tag"]
    assert not list(Path(tempfile.gettempdir()).glob(f"continuo-app-{tag}-*"))


def test_generate_again_gives_new_music_and_its_seed_reproduces_it(models_env: Path) -> None:
    """The random seed box starts empty: each Generate draws a fresh seed and shows it with the
    results; typed into the box, that seed gives the same music again."""
    at = page_test("melody")
    at.selectbox(key="melody-model").set_value("melody-tiny")
    at.slider(key="melody-bars").set_value(1)
    at.number_input(key="melody-variations").set_value(1)
    assert at.number_input(key="melody-rng-seed").value is None

    def generate() -> tuple[int, bytes]:
        at.button(key="melody-generate").click().run()
        no_traceback(at)
        [result] = at.session_state["melody-results"]
        assert f"random seed {result.rng_seed}" in at.markdown[-1].value
        return result.rng_seed, result.midi

    first, second = generate(), generate()
    assert first[0] != second[0]
    at.number_input(key="melody-rng-seed").set_value(first[0])
    assert generate() == first


def test_melody_seed_text_survives_a_trip_to_another_seed_source(models_env: Path) -> None:
    """Streamlit drops a widget's state when a run does not draw it; the page keeps a copy."""
    at = page_test("melody")
    at.text_input(key="melody-seed-text").set_value("60 _ 62 _").run()
    at.button(key="kb-rest").click().run()
    at.radio(key="melody-seed-source").set_value("File").run()
    at.radio(key="melody-seed-source").set_value("Nothing").run()
    at.radio(key="melody-seed-source").set_value("Text or keyboard").run()
    no_traceback(at)
    assert at.text_input(key="melody-seed-text").value.startswith("60 _ 62 _ r")


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ("60 x 62", "seed token 2 'x'"),
        ("   ", "the seed is empty"),
        ("../../etc/passwd.mid", "'.' is not part of the melody syntax"),
        ("60 _ 200", "out of range"),
    ],
)
def test_melody_bad_seeds_show_one_line_errors(models_env: Path, seed: str, message: str) -> None:
    at = page_test("melody")
    at.selectbox(key="melody-model").set_value("melody-tiny")
    at.text_input(key="melody-seed-text").set_value(seed)
    at.button(key="melody-generate").click().run()
    no_traceback(at)
    assert len(errors(at)) == 1 and message in errors(at)[0] and "\n" not in errors(at)[0]
    assert not at.get("audio")


def test_melody_seed_files_bad_files_and_upload_limits(
    models_env: Path, melody_midi_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = page_test("melody")
    at.selectbox(key="melody-model").set_value("melody-tiny")
    at.radio(key="melody-seed-source").set_value("File").run()
    uploader = at.file_uploader(key="melody-upload")
    assert {".mid", ".krn", ".abc", ".musicxml"} <= set(uploader.allowed_type)

    midi = (melody_midi_dir / "song000.mid").read_bytes()
    uploader.upload("tune.mid", midi, "audio/midi")
    at.slider(key="melody-bars").set_value(1)
    at.number_input(key="melody-variations").set_value(1)
    at.button(key="melody-generate").click().run()
    no_traceback(at)
    assert errors(at) == [] and len(at.get("audio")) == 1

    abc = b"X:1\nT:t\nM:4/4\nL:1/8\nK:G\nGABc d2 B2|c2 A2 G4|\n"
    at.file_uploader(key="melody-upload").clear().upload("tune.abc", abc, "text/plain")
    at.button(key="melody-generate").click().run()
    assert errors(at) == [] and len(at.get("audio")) == 1

    from continuo.score import make_score

    chords = make_score([(0, 480, 60, 80), (0, 480, 64, 80), (480, 480, 67, 80)]).dumps_midi()
    for name, data, message in [
        ("chords.mid", chords, "chords.mid: notes overlap at quarter 0"),  # the model's refusal
        ("broken.mid", b"not a midi file", "broken.mid: "),
        ("broken.krn", b"**kern\n*M4/4\n4qq\n*-\n", "broken.krn: "),
        ("empty.abc", b"", "empty.abc: the file is empty"),
    ]:
        at.file_uploader(key="melody-upload").clear().upload(name, data, "application/x")
        at.button(key="melody-generate").click().run()
        no_traceback(at)
        [error] = errors(at)
        assert error.startswith(message), error
        assert "upload-" not in error and "continuo-app-" not in error  # never the saved copy

    monkeypatch.setenv(MAX_UPLOAD_ENV, "0.0001")  # 105 bytes
    at.file_uploader(key="melody-upload").clear().upload("tune.mid", midi, "audio/midi")
    at.button(key="melody-generate").click().run()
    [error] = errors(at)
    assert error.startswith("tune.mid: ") and "over the 0.0001 MB limit" in error


# -- piano -------------------------------------------------------------------------------------
def test_piano_page_works_with_the_bundled_model_and_no_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MODELS_ENV, raising=False)
    at = page_test("piano")
    no_traceback(at)
    assert at.selectbox(key="piano-model").value.startswith("piano (bundled)")
    at.slider(key="piano-bars").set_value(2)
    at.number_input(key="piano-variations").set_value(1)
    at.button(key="piano-generate").click().run()
    no_traceback(at)
    assert errors(at) == [] and len(at.get("image")) == 1 and len(at.get("audio")) == 1


def test_piano_from_nothing_and_from_a_midi_file(models_env: Path, piano_run: Path) -> None:
    at = page_test("piano")
    at.selectbox(key="piano-model").set_value("piano-tiny")
    at.slider(key="piano-bars").set_value(2)
    at.number_input(key="piano-variations").set_value(1)
    at.button(key="piano-generate").click().run()
    no_traceback(at)
    assert errors(at) == [] and len(at.get("image")) == 1 and len(at.get("audio")) == 1
    assert [b.label for b in at.download_button] == ["MIDI", "MusicXML", "WAV"]
    assert [result.name for result in at.session_state["piano-results"]] == ["piano-1"]

    at.radio(key="piano-seed-source").set_value("MIDI file").run()
    assert at.file_uploader(key="piano-upload").allowed_type == [".mid", ".midi"]
    at.button(key="piano-generate").click().run()
    assert errors(at) == ["choose a MIDI file to continue first, or pick Nothing"]
    midi = next((piano_run.parent / "midis").glob("*.mid")).read_bytes()
    at.file_uploader(key="piano-upload").upload("chorale.mid", midi, "audio/midi")
    at.button(key="piano-generate").click().run()
    no_traceback(at)
    assert errors(at) == [] and len(at.get("audio")) == 1
    assert "seed notes" in at.markdown[-1].value


# -- audio -------------------------------------------------------------------------------------
def test_audio_page_extends_a_recording_and_marks_the_splices(
    models_env: Path, tmp_path: Path
) -> None:
    wav = synthetic_recording(tmp_path / "groove.wav").read_bytes()
    at = page_test("audio")
    at.button(key="audio-extend").click().run()
    assert errors(at) == ["Choose a recording to extend first."]

    at.file_uploader(key="audio-upload").upload("My Groove (take 2).wav", wav, "audio/wav")
    at.run()
    assert any("6.0 s · 22,050 Hz · mono" in c.value for c in at.caption)
    at.number_input(key="audio-duration").set_value(12.0)
    at.button(key="audio-extend").click().run()
    no_traceback(at)
    assert errors(at) == []
    assert len(at.get("image")) == 1 and len(at.get("audio")) == 1
    [download] = at.download_button
    assert download.label == "My-Groove-take-2-extended.wav"
    assert at.session_state["audio-result"].data[:4] == b"RIFF"
    assert any(m.value.startswith("**12.0 s** from 6.0 s by *structure*") for m in at.markdown)

    at.radio(key="audio-method").set_value("neural").run()
    assert at.selectbox(key="audio-model").value == "audio-tiny"
    at.button(key="audio-extend").click().run()
    no_traceback(at)
    assert errors(at) == []
    assert any("by *neural* · 1 splice point" in m.value for m in at.markdown)


def test_audio_page_rejects_bad_recordings(models_env: Path, tmp_path: Path) -> None:
    at = page_test("audio")
    at.file_uploader(key="audio-upload").upload("noise.wav", b"RIFF....WAVEfmt ", "audio/wav")
    at.button(key="audio-extend").click().run()
    no_traceback(at)
    [error] = errors(at)
    assert error.startswith("noise.wav: not a readable audio file"), error
    short = synthetic_recording(tmp_path / "x.wav", bars=2)
    import soundfile

    samples, rate = soundfile.read(short)
    soundfile.write(tmp_path / "short.wav", samples[: rate // 2], rate)
    at.file_uploader(key="audio-upload").clear().upload(
        "short.wav", (tmp_path / "short.wav").read_bytes(), "audio/wav"
    )
    at.button(key="audio-extend").click().run()
    assert errors(at) == [
        "short.wav: 0.50 s of audio is too short to extend (at least 1 s is needed)"
    ]


# -- uploads -----------------------------------------------------------------------------------
class FakeUpload:
    """What ``st.file_uploader`` returns, as far as :func:`save_upload` looks."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size, self._data = name, len(data), data

    def getvalue(self) -> bytes:
        return self._data


def test_uploads_are_checked_and_saved_under_generated_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from continuo.app.common import SYMBOLIC_SUFFIXES, UploadError, save_upload

    saved = save_upload(FakeUpload("../../x/Tune.MID", b"MThd"), tmp_path, SYMBOLIC_SUFFIXES)
    assert saved.parent == tmp_path and saved.name.startswith("upload-")
    assert saved.suffix == ".mid" and saved.read_bytes() == b"MThd"
    with pytest.raises(UploadError, match=r"^notes\.txt: not a file this page takes"):
        save_upload(FakeUpload("notes.txt", b"60 62"), tmp_path, SYMBOLIC_SUFFIXES)
    with pytest.raises(UploadError, match=r"^song: not a file"):
        save_upload(FakeUpload("song", b"MThd"), tmp_path, SYMBOLIC_SUFFIXES)
    monkeypatch.setenv(MAX_UPLOAD_ENV, "1")
    with pytest.raises(UploadError, match=r"^big\.mid: 2\.0 MB is over the 1 MB limit"):
        save_upload(FakeUpload("big.mid", bytes(2 * 1024 * 1024)), tmp_path, SYMBOLIC_SUFFIXES)
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.name]


def test_user_text_in_messages_is_shown_as_typed() -> None:
    from continuo.app.common import plain

    assert plain("seed '60 _ x _'") == "seed '60 \\_ x \\_'"
    assert plain("# [a](b) <i>*x*</i>.mid") == "\\# \\[a\\](b) \\<i\\>\\*x\\*\\</i\\>.mid"
    assert plain("tune.mid: no notes (1 s)") == "tune.mid: no notes (1 s)"


# -- workspace ---------------------------------------------------------------------------------
def test_job_folders_are_private_and_removed_however_the_job_ends() -> None:
    from continuo.app.common import job_folder

    with job_folder() as folder:
        (folder / "upload-1234.mid").write_bytes(b"MThd")
        assert folder.name.startswith("continuo-app-") and oct(folder.stat().st_mode)[-3:] == "700"
    assert not folder.exists()
    with pytest.raises(RuntimeError), job_folder() as failing:
        (failing / "half-written.wav").write_bytes(b"RIFF")
        raise RuntimeError("the job failed")
    assert not failing.exists()


# -- the command -------------------------------------------------------------------------------
def test_cli_command_line_is_headless_and_private(tmp_path: Path) -> None:
    from continuo.cli import build_parser
    from continuo.cli.app import address, streamlit_command

    args = build_parser().parse_args(["app", "--models", str(tmp_path), "--max-upload-mb", "5"])
    command, env = streamlit_command(args, 8765)
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(ENTRY_SCRIPT)]
    for flag in (
        "--server.headless=true",
        "--server.address=127.0.0.1",
        "--server.port=8765",
        "--server.maxUploadSize=5",
        "--browser.gatherUsageStats=false",
    ):
        assert flag in command
    assert env[MODELS_ENV] == str(tmp_path.resolve()) and float(env[MAX_UPLOAD_ENV]) == 5.0
    assert address("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert address("::1", 80) == "http://[::1]:80"


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from continuo.cli import main

    assert main(["app", "--models", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().endswith("--models must be a folder of run folders")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["app", "--max-upload-mb", "-1"]) == 2
    assert "--max-upload-mb must be a positive number" in capsys.readouterr().err


def test_the_command_line_stays_light() -> None:
    import subprocess

    code = (
        "import sys, continuo.cli as cli; cli.build_parser(); "
        "print(sorted({'streamlit', 'torch'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# -- sung and played seeds -----------------------------------------------------------------------
def test_melody_page_continues_a_sung_take(models_env: Path, tmp_path: Path) -> None:
    from continuo.io.audio import write_audio
    from tests.test_transcription import ENTCHEN, SR, render

    take, _ = render(ENTCHEN, 73, 100.0)
    wav = write_audio(tmp_path / "hum.wav", take.samples, SR).read_bytes()
    at = page_test("melody")
    at.radio(key="melody-seed-source").set_value("Sing or play").run()
    at.button(key="melody-generate").click().run()
    assert errors(at) == ["record or upload a take first"]
    at.file_uploader(key="melody-take-upload").upload("hum.wav", wav, "audio/wav").run()
    no_traceback(at)
    assert any("Heard in **hum.wav**: 17 notes" in m.value for m in at.markdown)
    assert at.text_input(key="melody-take-text").value.split()[:5] == ["60", "_", "_", "_", "62"]
    at.text_input(key="melody-take-text").set_value("60 _ _ _ 62 _ _ _ 64 _ _ _ 65").run()
    at.button(key="melody-generate").click().run()
    no_traceback(at)
    assert errors(at) == []
    results = at.session_state["melody-results"]
    assert results and all(r.take_wav[:4] == b"RIFF" for r in results)
    assert results[0].seed_notes == 4  # the corrected text is the seed
    assert any("Your take, then its continuation" in c.value for c in at.caption)
    # a take that is not one melody: one line, no traceback
    noise = 0.1 * np.random.default_rng(0).standard_normal((3 * SR, 1)).astype(np.float32)
    noisy = write_audio(tmp_path / "n.wav", noise, SR).read_bytes()
    at.file_uploader(key="melody-take-upload").clear().upload("noise.wav", noisy, "audio/wav").run()
    no_traceback(at)
    assert any(e.startswith("noise.wav: no single clear pitch") for e in errors(at)), errors(at)


def test_audio_page_plays_new_notes_in_the_recordings_own_sound(
    models_env: Path, tmp_path: Path
) -> None:
    from continuo.io.audio import write_audio
    from tests.test_transcription import ENTCHEN, SR, render

    take, _ = render(ENTCHEN, 73, 100.0)
    wav = write_audio(tmp_path / "flute.wav", take.samples, SR).read_bytes()
    at = page_test("audio")
    at.file_uploader(key="audio-upload").upload("flute.wav", wav, "audio/wav")
    at.radio(key="audio-method").set_value("melody").run()
    assert any("one voice or instrument" in c.value for c in at.caption)
    at.number_input(key="audio-duration").set_value(20.0)
    at.button(key="audio-extend").click().run()
    no_traceback(at)
    assert errors(at) == []
    assert any("**20.0 s** from" in m.value and "by *melody*" in m.value for m in at.markdown)
