"""Small real fixtures that the tests make themselves."""

from __future__ import annotations

from pathlib import Path


def write_melody_midis(folder: Path, count: int = 24, steps: int = 64, seed: int = 0) -> Path:
    """Monophonic random-walk melodies in C major on a 16th grid (4/4, 120 qpm) as MIDI files."""
    import numpy as np

    from continuo.score import make_score

    rng = np.random.default_rng(seed)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        notes, step, degree = [], 0, int(rng.integers(0, 8))
        while step < steps:
            length = int(rng.choice([2, 4, 4, 8]))
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 7))
            notes.append((step * 120, min(length, steps - step) * 120, scale[degree], 80))
            step += length
        score = make_score(notes, time_signature=(4, 4), key=(0, 0), qpm=120.0)
        score.dump_midi(folder / f"song{n:03d}.mid")
    return folder
