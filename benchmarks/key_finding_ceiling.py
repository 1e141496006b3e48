"""How far can key finding from the opening bars of the Essen songs go? A learned probe.

    nice -n 15 python benchmarks/key_finding_ceiling.py [--jobs 2]

Not a key finder continuo ships: a log-linear classifier trained on the Essen songs themselves,
to measure how much of the signature the notes of an opening carry. Each song's opening (as in
``key_finding.py``: the first 2 or 4 bars' worth of time) is scored under each of the 12 scales
``c`` with one weight vector ``theta`` shared by all of them::

    P(c | notes) = softmax_c( theta . phi(notes rotated down by c) )

``phi``: the duration-weighted pitch-class distribution, the same over notes on a downbeat,
which pitch classes occur, the first and the last note (one-hot), and which ordered pairs of
pitch classes follow one another (144 flags). Trained by L-BFGS (L2 weight 1e-3) and tested
by leave-one-collection-out cross-validation over the 12 ``deutschl`` folders (erk, kinder,
...), so no song is scored by weights fitted on it. Its accuracy is an estimate of what the
opening's notes can tell, richer features than any fixed profile method uses included.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from key_finding import ESSEN, _nice, opening, read_essen, signature_scale


def features(song: dict, bars: int) -> np.ndarray:
    """``[12, F]``: the features of the opening under each of the 12 scales."""
    pitches, durations = opening(song, bars, "time")
    onsets = song["onset"][: len(pitches)]
    pcs = pitches % 12
    weights = durations / durations.sum()
    histogram = np.bincount(pcs, weights, minlength=12)
    downbeat = np.abs(onsets / song["bar"] - np.round(onsets / song["bar"])) < 1e-6
    on_beat = np.bincount(pcs[downbeat], weights[downbeat], minlength=12)
    on_beat = on_beat / on_beat.sum() if on_beat.sum() else on_beat
    present = (histogram > 0).astype(float)
    first, last = np.eye(12)[pcs[0]], np.eye(12)[pcs[-1]]
    pairs = np.zeros((12, 12))
    pairs[pcs[:-1], pcs[1:]] = 1.0
    rows = []
    for c in range(12):
        single = np.roll(np.stack([histogram, on_beat, present, first, last]), -c, axis=1)
        rows.append(np.concatenate([single.ravel(), np.roll(pairs, (-c, -c), (0, 1)).ravel()]))
    return np.array(rows)


def fit(x: torch.Tensor, y: torch.Tensor, l2: float = 1e-3) -> torch.Tensor:
    theta = torch.zeros(x.shape[2], requires_grad=True)
    optimizer = torch.optim.LBFGS([theta], max_iter=300)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ theta, y) + l2 * (theta**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return theta.detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--essen", type=Path, default=ESSEN)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    files = sorted(args.essen.rglob("*.krn"))
    with ProcessPoolExecutor(args.jobs, initializer=_nice) as pool:
        songs = [s for s in pool.map(read_essen, files, chunksize=64) if s is not None]
    folders = np.array([song["name"].split("/")[0] for song in songs])
    y = torch.tensor([signature_scale(song["sharps"]) for song in songs])
    for bars in (2, 4):
        x = torch.tensor(np.array([features(song, bars) for song in songs]), dtype=torch.float32)
        right = 0
        for folder in np.unique(folders):
            train = torch.from_numpy(np.flatnonzero(folders != folder))
            test = torch.from_numpy(np.flatnonzero(folders == folder))
            theta = fit(x[train], y[train])
            right += int(((x[test] @ theta).argmax(1) == y[test]).sum())
        print(f"{bars} bars: {right / len(songs):.1%} of {len(songs)} songs in the right scale")


if __name__ == "__main__":
    main()
