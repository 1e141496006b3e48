"""Bounded generation requests (issue 12): a documented maximum length and number of outputs,
refused in one line; progress for long runs; per-token work that does not grow with length."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import continuo.progress
from continuo.cli import main
from continuo.codecs import get_codec
from continuo.errors import ConfigError
from continuo.generation.generator import MAX_OUTPUTS, Generator
from continuo.generation.seeds import MAX_STEPS, length_in_steps

CODECS = [
    ("melody", {}),
    ("events", {}),
    ("events", {"tokenization": "REMI", "velocity_bins": 4}),
    ("pianoroll", {}),
    ("pianoroll", {"onsets": True, "steps_per_quarter": 12}),
]


@pytest.fixture(scope="module")
def folk() -> Generator:
    return Generator.from_pretrained("folk", device="cpu")


@pytest.mark.parametrize(("name", "options"), CODECS, ids=[f"{n}{o}" for n, o in CODECS])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_length_counter_agrees_with_length_in_quarters(name: str, options: dict, data) -> None:
    """Fed one id at a time (ids outside the vocabulary too), the counter gives the length of
    every prefix, as the generator needs it after each token."""
    codec = get_codec(name, **options)
    ids = data.draw(st.lists(st.integers(-2, codec.vocab_size + 2), max_size=80))
    push = codec.length_counter()
    for n, token in enumerate(ids, start=1):
        assert push(token) == codec.length_in_quarters(ids[:n])


def test_lengths_beyond_the_maximum_are_refused_in_one_line() -> None:
    assert length_in_steps(steps=MAX_STEPS, steps_per_quarter=4) == MAX_STEPS
    assert length_in_steps(bars=MAX_STEPS / 16, steps_per_quarter=4) == MAX_STEPS
    requests = [
        ({"steps": MAX_STEPS + 1}, "steps 65,537 is over the maximum of 65,536 steps"),
        ({"steps": 100_000_000}, "steps 100,000,000"),
        ({"bars": 4097.0}, "4,096 bars of 4/4"),
        ({"bars": 1e308}, "4,096 bars of 4/4"),
        ({"seconds": 1e6, "qpm": 60.0}, "16,384 s at 60 qpm"),
    ]
    for request, words in requests:
        with pytest.raises(ConfigError) as caught:
            length_in_steps(steps_per_quarter=4, **request)
        assert words in str(caught.value) and "\n" not in str(caught.value)


def test_the_generator_refuses_before_sampling(folk: Generator, monkeypatch) -> None:
    def never(*args, **kwargs):
        raise AssertionError("sampled a refused request")

    monkeypatch.setattr(folk, "_sample", never)
    for options in (
        {"steps": MAX_STEPS + 1},
        {"bars": 1e9},
        {"num_outputs": MAX_OUTPUTS + 1},
        {"num_outputs": 0},
        {"num_outputs": 2.0},
    ):
        with pytest.raises(ConfigError):
            folk.generate_continuation("67 _ 65", **options)


def test_the_cli_refuses_a_huge_length_in_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["generate", "--seed", "67 _ 65", "--steps", "100000000", "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and not out.exists()
    assert err.count("\n") == 1 and "maximum of 65,536 steps" in err


def test_the_help_states_the_maximum(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"at most {MAX_STEPS:,} grid steps" in text and f"1 to {MAX_OUTPUTS}" in text


def test_length_is_counted_token_by_token(folk: Generator, monkeypatch) -> None:
    """The whole output is never measured again per token: the work of a token does not grow
    with the output (measured by calls, not by time)."""
    calls: list[int] = []
    measure = folk.codec.length_in_quarters

    def counting(ids):
        calls.append(len(ids))
        return measure(ids)

    monkeypatch.setattr(folk.codec, "length_in_quarters", counting)
    counts = []
    for steps in (64, 512):
        calls.clear()
        [out] = folk.generate_continuation("67 _ 65", steps=steps, rng_seed=1)
        assert len(out.tokens) == steps
        counts.append(len(calls))
    assert counts[0] == counts[1] and counts[0] <= 4


def test_progress_on_standard_error_only_when_asked(folk: Generator, monkeypatch, capsys) -> None:
    monkeypatch.setattr(continuo.progress, "LINE_SECONDS", 0.0)  # every update makes a line
    folk.generate_continuation("67 _ 65", steps=64, rng_seed=1)
    assert capsys.readouterr().err == ""
    folk.generate_continuation("67 _ 65", steps=64, rng_seed=1, num_outputs=2, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith("generating") for line in lines)
    assert "64/64" in lines[-1]


def test_the_cli_shows_progress(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(continuo.progress, "LINE_SECONDS", 0.0)
    code = main(["generate", "--seed", "67 _ 65", "--steps", "32", "--out", str(tmp_path)])
    assert code == 0 and "generating" in capsys.readouterr().err
