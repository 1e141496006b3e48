"""The structure extender: analysis, jump graph, planner, splices, and its contracts."""

from __future__ import annotations

import numpy as np
import pytest

from continuo.audio.analysis import analyze_beats
from continuo.audio.baselines import naive_loop, repeat_last
from continuo.audio.extension import MAX_DURATION_S, check_duration, fit_length
from continuo.audio.graph import build_jump_graph, jump_quality
from continuo.audio.planner import plan_path
from continuo.audio.splice import crossfade_gains, render_segments
from continuo.audio.structure import extend_structure
from continuo.errors import ConfigError
from continuo.io.audio import Audio
from tests.test_audio_signals import groove, sine

SR = 22_050


@pytest.fixture(scope="module")
def song() -> Audio:
    return Audio(groove(SR)[:, None], SR)


@pytest.fixture(scope="module")
def analysis(song):
    return analyze_beats(song.samples[:, 0], SR)


def test_beats_follow_the_groove(analysis):
    assert analysis.tracked
    assert 100 < analysis.tempo < 140  # 120 BPM, within the tracker's tolerance
    assert analysis.n_beats >= 28
    assert analysis.chroma.shape == (analysis.n_beats, 12)
    assert analysis.timbre.shape == (analysis.n_beats, 19)
    # the trailing half second of silence is outro, not beats
    assert analysis.boundaries[-1] <= analysis.n_samples - int(0.3 * SR)


def test_jump_graph_prefers_the_same_chord(analysis):
    graph = build_jump_graph(analysis)
    assert graph.n_jumps > 0
    assert np.all(np.diff(graph.ptr) >= 0)
    assert np.all(graph.cost > 0)
    # no jump lands on the beat that would come anyway
    for i in range(analysis.n_beats):
        assert all(t != i + 1 for t, _ in graph.jumps_from(i))


def test_jump_quality_is_zero_for_the_natural_next_beat():
    dist = np.random.default_rng(0).random((12, 12))
    dist = (dist + dist.T) / 2
    np.fill_diagonal(dist, 0.0)
    q = jump_quality(dist, 3)
    assert np.allclose(np.diagonal(q, offset=1), 0.0)


@pytest.mark.parametrize("seconds", [40.0, 25.3, 12.0])
def test_plan_reaches_the_duration_within_a_beat(analysis, seconds):
    graph = build_jump_graph(analysis)
    plan = plan_path(analysis, graph, int(seconds * SR))
    beat = analysis.median_beat_seconds * SR
    assert abs(plan.length - seconds * SR) <= beat
    assert plan.segments[0][0] == 0
    if plan.ending == "song":
        assert plan.segments[-1][1] == analysis.n_samples
    assert len(plan.jump_costs) == len(plan.segments) - 1


@pytest.mark.parametrize("seconds", [45.0, 31.7, 10.0, 6.0])
def test_extend_contract(song, seconds):
    ext = extend_structure(song, seconds, progress=False)
    assert ext.samples.shape == (round(seconds * SR), 1)
    assert ext.sample_rate == SR
    first = min(int(1.5 * SR), ext.splices[0].output_time * SR if ext.splices else 10**9)
    np.testing.assert_array_equal(ext.samples[: int(first)], song.samples[: int(first)])
    if ext.ending == "song":  # the last second is the song's own last second
        np.testing.assert_array_equal(ext.samples[-SR // 2 :], song.samples[-SR // 2 :])
    for s in ext.splices:
        assert 0 < s.output_time < seconds
        assert 0 <= s.source_to < song.duration and 0 < s.source_from <= song.duration
    assert np.max(np.abs(ext.samples)) <= 1.0


def test_extend_stereo_44k_keeps_channels(song):
    y = groove(44_100)
    stereo = Audio(np.stack([y, 0.5 * y], axis=1), 44_100)
    ext = extend_structure(stereo, 30.0, progress=False)
    assert ext.samples.shape == (30 * 44_100, 2)
    np.testing.assert_allclose(ext.samples[:, 1], 0.5 * ext.samples[:, 0], atol=1e-6)


def test_same_duration_returns_the_original(song):
    ext = extend_structure(song, song.n_samples / SR, progress=False)
    assert ext.ending == "original" and not ext.splices
    np.testing.assert_array_equal(ext.samples, song.samples)


def test_silence_gives_silence():
    quiet = Audio(np.zeros((3 * SR, 2), np.float32), SR)
    ext = extend_structure(quiet, 7.5, progress=False)
    assert ext.samples.shape == (int(7.5 * SR), 2)
    assert not np.any(ext.samples)
    assert ext.details["silent_input"]


def test_two_second_clip_and_a_steady_tone():
    clip = Audio(groove(SR)[: 2 * SR, None], SR)
    ext = extend_structure(clip, 9.0, progress=False)
    assert ext.samples.shape == (9 * SR, 1)
    tone = Audio(sine(3.0)[:, None], SR)
    ext = extend_structure(tone, 10.0, progress=False)
    assert ext.samples.shape == (10 * SR, 1)
    # a steady tone stays a steady tone: no sample-to-sample step far above the sine's own
    steps = np.abs(np.diff(ext.samples[: -3 * SR, 0]))
    assert steps.max() < 1.5 * np.abs(np.diff(tone.samples[:, 0])).max()


@pytest.mark.parametrize("bad", [0.0, -3.0, float("nan"), float("inf"), MAX_DURATION_S + 1])
def test_bad_durations(song, bad):
    with pytest.raises(ConfigError):
        extend_structure(song, bad, progress=False)
    with pytest.raises(ConfigError):
        check_duration(bad)


def test_too_short_input():
    with pytest.raises(ConfigError, match="too short"):
        extend_structure(Audio(sine(0.5)[:, None], SR), 5.0, progress=False)


def test_crossfade_keeps_power():
    for rho in (0.0, 0.5, 1.0):
        g_out, g_in = crossfade_gains(1000, rho)
        power = g_out**2 + g_in**2 + 2 * rho * g_out * g_in
        np.testing.assert_allclose(power, 1.0, atol=1e-5)
    g_out, g_in = crossfade_gains(1000, 1.0)
    np.testing.assert_allclose(g_out + g_in, 1.0, atol=1e-5)  # identical audio: equal gain


def test_render_joins_a_sine_without_a_step():
    x = sine(2.0, SR, 441.0)[:, None]  # exactly 50 samples a period
    # splice 1.0 s -> 0.5 s + 17 samples: off the period, so alignment has to fix it
    out, splices = render_segments(x, [(0, SR), (SR // 2 + 17, 2 * SR)], SR)
    assert len(splices) == 1
    (s,) = splices
    assert (s.source_from - s.source_to) % 50 == 0  # realigned to the same phase
    assert np.abs(np.diff(out[:, 0])).max() <= np.abs(np.diff(x[:, 0])).max() + 1e-4


def test_fit_length_cuts_with_a_fade_and_pads():
    x = np.ones((1000, 2), np.float32)
    cut = fit_length(x, 600, 1000, fade_s=0.05)
    assert cut.shape == (600, 2) and cut[-1, 0] < 0.01 and cut[0, 0] == 1.0
    assert fit_length(x, 1200, 1000).shape == (1200, 2)


def test_baselines(song):
    loop = naive_loop(song, 50.0)
    assert loop.samples.shape == (50 * SR, 1)
    assert len(loop.splices) == 2
    rep = repeat_last(song.samples, 5000, 0.1, SR)
    assert rep.shape == (5000, 1)
    np.testing.assert_array_equal(rep[: int(0.1 * SR)], song.samples[-int(0.1 * SR) :])


def test_input_over_the_analysis_limit(monkeypatch, song):
    import continuo.audio.structure as structure

    monkeypatch.setattr(structure, "MAX_STRUCTURE_INPUT_S", 10.0)
    with pytest.raises(ConfigError, match="cut it first"):
        structure.extend_structure(song, 30.0, progress=False)
