"""Audio continuity metrics on signals whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from continuo.evaluation.audio_metrics import (
    chroma_continuity,
    jump_profile,
    loudness_continuity,
    multi_resolution_stft_distance,
    percentile_of,
    sample_jumps,
    spectral_flux,
    splice_discontinuity,
    tempo_continuity,
)
from tests.test_audio_signals import sine

SR = 22_050


def test_percentile_of():
    ref = np.arange(100.0)
    np.testing.assert_allclose(percentile_of([-1.0, 49.5, 1000.0], ref), [0.0, 50.0, 100.0])


def test_sample_jumps_see_a_step_but_not_a_steep_sine():
    x = sine(1.0, SR, 1000.0)
    smooth = sample_jumps(x, [1000, 5000])
    assert smooth.max() < 0.5 * (2 * np.pi * 1000 / SR) ** 2 + 1e-3  # the sine's own curvature
    y = x.copy()
    y[5000:] += 0.5  # a DC step: a click
    assert sample_jumps(y, [5000])[0] > 0.45
    assert np.isnan(sample_jumps(x, [0, len(x) + 3])).all()
    assert jump_profile(x).shape == (len(x) - 2,)


def test_spectral_flux_is_zero_for_silence_and_peaks_at_an_onset():
    assert np.allclose(spectral_flux(np.zeros(SR)), 0.0)
    x = np.zeros(SR, np.float32)
    x[SR // 2 :] = sine(0.5, SR, 440.0)
    flux = spectral_flux(x)
    assert abs(int(np.argmax(flux)) * 256 - SR // 2) < 2 * 256


def test_splice_discontinuity_ranks_a_click_far_above_a_clean_joint():
    rng = np.random.default_rng(0)
    song = (sine(4.0, SR, 220.0) + 0.01 * rng.standard_normal(4 * SR)).astype(np.float32)
    clean = song.copy()
    clicked = song.copy()
    at = 2 * SR + 25  # a crest of the 220 Hz sine
    clicked[at:] = -clicked[at:]  # polarity flip there: a jump of the whole amplitude
    good = splice_discontinuity(clean, np.array([at]), song, np.array([at]))
    bad = splice_discontinuity(clicked, np.array([at]), song, np.array([at]))
    assert bad.jump_percentile[0] > 99.0 > good.jump_percentile[0]
    assert bad.flux_percentile[0] > good.flux_percentile[0]
    assert bad.flux_excess[0] > good.flux_excess[0]
    assert abs(good.flux_excess[0]) < 1.0
    summary = bad.summary()
    assert summary["splices"] == 1 and summary["jump_percentile"] > 99.0


def test_chroma_continuity_same_versus_different_chord():
    c = sine(2.0, SR, 261.63) + sine(2.0, SR, 329.63) + sine(2.0, SR, 392.0)
    fs = sine(2.0, SR, 369.99) + sine(2.0, SR, 466.16) + sine(2.0, SR, 277.18)  # F# major
    same = np.concatenate([c, c])
    change = np.concatenate([c, fs])
    sim_same, _ = chroma_continuity(same, SR, np.array([2.0]))
    sim_change, pct = chroma_continuity(change, SR, np.array([2.0]), reference=same)
    assert sim_same[0] > 0.95 > sim_change[0]
    assert pct[0] < 5.0


def click_track(bpm: float, seconds: float) -> np.ndarray:
    x = np.zeros(int(seconds * SR), np.float32)
    burst = sine(0.03, SR, 1000.0, 0.8)
    for t in np.arange(0.0, seconds, 60.0 / bpm):
        a = int(t * SR)
        x[a : a + burst.size] = burst[: x.size - a]
    return x


def test_tempo_continuity():
    steady = click_track(120.0, 16.0)
    change = np.concatenate([click_track(120.0, 8.0), click_track(80.0, 8.0)])
    assert tempo_continuity(steady, SR, np.array([8.0]))[0] < 0.1
    assert tempo_continuity(change, SR, np.array([8.0]))[0] > 0.4
    assert np.isnan(tempo_continuity(steady, SR, np.array([1.0]))[0])


def test_multi_resolution_stft_distance():
    x = sine(1.0, SR, 440.0)
    assert multi_resolution_stft_distance(x, x)["distance"] == pytest.approx(0.0, abs=1e-6)
    near = multi_resolution_stft_distance(sine(1.0, SR, 445.0), x)["distance"]
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.3
    far = multi_resolution_stft_distance(noise, x)["distance"]
    assert 0 < near < far
    with pytest.raises(ValueError):
        multi_resolution_stft_distance(np.zeros(0), x)


def test_loudness_continuity_sees_a_gap():
    x = sine(4.0, SR, 330.0)
    gap = x.copy()
    gap[int(1.5 * SR) : 2 * SR] = 0.0  # half a second of silence, then the tone again
    steady, _pct_steady = loudness_continuity(x, SR, np.array([2.0]))
    step, pct = loudness_continuity(gap, SR, np.array([2.0]), reference=x)
    assert steady[0] < 0.1 and step[0] > 40.0 and pct[0] == 100.0
