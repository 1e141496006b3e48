"""Issue 11 §5: the bundled piano model against the MIDI-LSTM seed and continuo from scratch.

    nice python benchmarks/piano_quality.py --markdown           # full size: about 40 minutes
    nice python benchmarks/piano_quality.py --minutes 0.3 --pieces 4 --bach-limit 60 \
        --init-from RUN_DIR --folders bach --parallel 1 --threads 1   # a check in 3 minutes

Options: ``--minutes`` (training budget of each method, default 10), ``--init-from`` (the model
(c) fine-tunes and whose codec every folder is prepared with; default ``piano``, the bundled
model; any run folder does), ``--finetune-lr`` ((c)'s ``--lr``; default: none given, so
``continuo train``'s own), ``--pieces`` (generated per method and folder, 20), ``--lstm-size`` /
``--lstm-layers`` ((a)'s network, 256 x 3), ``--parallel`` (trainings at a time, 2),
``--threads`` (for scoring and generating, 2), ``--work`` (datasets, runs and their logs,
default ``build/piano-quality``), ``--reuse`` (keep the runs a previous call finished: score
again without training), ``--markdown``.

Two folders the bundled model never trained on, each prepared with ``continuo prepare SOURCE
--like MODEL`` (the codec of ``--init-from``) and split by piece name as ``continuo prepare``
splits:

- ``pop909``: ``../shared/data/pop909``. The bundled model was pretrained on POP909's *train*
  split, so here every method trains on that split too, and every figure is on the *test* split
  (the held-out songs); the output says so.
- ``bach``: music21's Bach chorales, written as a MIDI folder (``benchmarks/midi_folder.py``).

For each folder, three methods train for the same wall-clock budget (``--minutes``), each in a
process of its own with ``OMP_NUM_THREADS=1``, two at a time (the two cores):

- (a) the MIDI-LSTM seed's method (Skuldur's "Classical-Piano-Composer"), re-implemented here:
  the notes starting on each eighth of a piece (onsets rounded to the eighth grid, rests
  dropped) are one token, a single pitch or a chord of sorted pitches (music21's chords); the
  100 tokens before are the input and the next token the one target; stacked LSTMs (3 x
  LSTM(512) in the seed, 3 x LSTM(256) by default here: 512 takes 5 s a batch on one core),
  RMSprop, batches of 64, generation by argmax, every token an eighth long. Differences from the
  seed: an embedding instead of the token index scaled to [0, 1] as input; pieces padded on the
  left (a window never spans two pieces); tokens seen once in training (or never) are one
  ``<unk>`` token. It trains on the same pieces as the others, decoded from the dataset (so
  also in C major / A minor), and keeps its last weights.
- (b) continuo from scratch: ``continuo train DATA --config MODEL.toml --minutes M``, MODEL.toml
  the model settings of ``--init-from`` (the same network, random weights).
- (c) continuo fine-tuned: ``continuo train DATA --init-from MODEL --minutes M``.

(b) and (c) keep ``continuo train``'s training settings and add ``--epochs 1000 --patience 0``,
so that the budget, not an epoch count, ends them; their best checkpoint (lowest validation
loss) is scored. Reported for each method:

- bits per note on the test split: for continuo ``continuo evaluate --json``'s
  ``sequence_bits_per_note``; for (a) the summed token log-loss over the notes its tokens carry
  (it encodes no durations or velocities; a token unseen in training costs ``-log2 p(<unk>)``
  plus the bits to name its pitches: ``log2 88 + log2 C(88, k)`` for k notes);
- for ``--pieces`` generated pieces (half from nothing, half continuing 4-bar seeds cut at bar
  lines of test pieces), each 8 bars long (the continuation alone, not its seed), against every
  test piece's first 8 bars (as ``continuo evaluate --stats`` cuts them): the statistics of
  :mod:`continuo.evaluation.stats` compared by ``compare_sets`` of
  :mod:`continuo.evaluation.distributions` (means, Yang & Lerch overlap areas). (a) starts "from
  nothing" as the seed does: from a random window of its training tokens, left out of the
  output. Sampling for continuo: temperature 1, top-p 0.95 (``continuo evaluate``'s defaults;
  ``--temperature`` and ``--top-p`` change them);
- seed continuity: each statistic of the 4 bars after a seed against the seed itself (the
  absolute difference, Euclidean for histograms), averaged over the seeds; beside it the same
  distance between consecutive 4-bar windows of the test pieces (``real``).

Prints a JSON summary; with ``--markdown`` also tables for ``RESULTS-polyphony.md``, and
whether (c) meets each target of the issue. ``WORK/FOLDER/pieces/`` holds the seeds and every
scored piece as MIDI, to listen to: ``a-00.mid`` ... from nothing first, then the continuations
of ``seed-00.mid`` ... in order.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
POP909 = REPO.parent / "shared" / "data" / "pop909"
STATISTICS = (
    "pitch_class_entropy", "scale_consistency", "pitch_range", "polyphony",
    "groove_consistency", "pitch_class_histogram", "note_length_histogram",
)  # fmt: skip
METHODS = {"a": "MIDI-LSTM seed", "b": "continuo, from scratch", "c": "continuo, fine-tuned"}
TARGETS = (
    "every overlap >= 0.8", "scale consistency within 0.03", "seed continuity no worse than real",
    "bits/note below (a) and (b)", "every overlap above (a) and (b)",
)  # fmt: skip
BAR, PIECE_BARS, SEED_BARS = 4.0, 8, 4  # quarters a bar (decoded pieces are 4/4), lengths
WINDOW, PAD, UNK = 100, "<pad>", "<unk>"  # the seed's window; its padding and rare tokens


# -- folders ------------------------------------------------------------------------------------
def prepare_folders(args: argparse.Namespace) -> dict[str, dict]:
    """``continuo prepare`` each folder the way ``--init-from`` expects; name -> its summary."""
    sources = {"pop909": POP909}
    if "bach" in args.folders:
        sys.path.insert(0, str(Path(__file__).parent))
        from midi_folder import make_folder

        sources["bach"] = args.work / f"bach-midi-{args.bach_limit or 'all'}"
        if not any(sources["bach"].glob("*.mid")):
            make_folder(sources["bach"], args.bach_limit)
    folders = {}
    for name in args.folders:
        data = args.work / name / "data"
        text = continuo("prepare", sources[name], "--like", args.init_from, "--out", data, "--json")
        prepared = json.loads(text)
        folders[name] = {"data": data, "splits": prepared["splits"], "source": str(sources[name])}
    return folders


def continuo(*args: object, threads: int = 1) -> str:
    """``continuo ARGS`` in a fresh process with ``OMP_NUM_THREADS=threads``; its stdout."""
    command = [sys.executable, "-m", "continuo", *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def held_out(data: Path) -> list:
    """The test split's pieces, decoded as symusic Scores."""
    from continuo.data.dataset import TokenCorpus

    corpus = TokenCorpus.open(data)
    return [corpus.codec.decode(corpus.piece_ids(p)) for p in corpus.pieces("test")]


def cut(score, start: float, end: float):
    """The notes of ``score`` sounding in ``[start, end)`` quarters, clipped to it, from tick 0."""
    import symusic

    tpq = score.ticks_per_quarter
    lo, hi = round(start * tpq), round(end * tpq)
    out = symusic.Score(tpq)
    for track in score.tracks:
        notes = [
            symusic.Note(
                max(n.time, lo) - lo, min(n.end, hi) - max(n.time, lo), n.pitch, n.velocity
            )
            for n in track.notes
            if n.time < hi and n.end > lo
        ]
        if notes:
            out.tracks.append(symusic.Track(track.name, track.program, track.is_drum))
            out.tracks[-1].notes.extend(notes)
    return out


def quarters(score) -> float:
    return score.end() / score.ticks_per_quarter


def pick_seeds(pieces: list, count: int, rng: np.random.Generator) -> list:
    """``count`` seeds: 4 bars cut at a random bar line of a test piece, leaving 4 more after."""
    span = BAR * SEED_BARS
    usable = [p for p in pieces if quarters(p) >= 2 * span]
    seeds = []
    for index in rng.choice(len(usable), size=count, replace=count > len(usable)):
        bars = int(quarters(usable[index]) // BAR - 2 * SEED_BARS)
        start = BAR * int(rng.integers(0, bars + 1))
        seeds.append(cut(usable[index], start, start + span))
    return seeds


# -- training: two processes at a time ------------------------------------------------------------
def train_all(folders: dict[str, dict], args: argparse.Namespace) -> dict[tuple[str, str], dict]:
    """Train (a), (b) and (c) on every folder, two at a time; (folder, method) -> its run folder
    and wall seconds. With ``--reuse``, runs that finished before are kept."""
    model = write_model_settings(args.init_from, args.work)
    runs = {(name, m): args.work / name / f"run-{m}" for name in folders for m in METHODS}
    todo = [key for key, run in runs.items() if not (args.reuse and _timing(run).is_file())]
    for key in todo:
        shutil.rmtree(runs[key], ignore_errors=True)
    commands = [
        train_command(m, folders[name]["data"], runs[name, m], model, args) for name, m in todo
    ]
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        for key, seconds in zip(todo, pool.map(timed, commands), strict=True):
            _timing(runs[key]).write_text(json.dumps({"wall_seconds": round(seconds)}))
    return {key: {"run": run, **json.loads(_timing(run).read_text())} for key, run in runs.items()}


def _timing(run: Path) -> Path:
    return run.with_suffix(".seconds.json")


def train_command(method: str, data: Path, run: Path, model: Path, args) -> list:
    """The arguments of ``python`` that train ``method`` on ``data`` into ``run``."""
    if method == "a":
        size = ["--lstm-size", args.lstm_size, "--lstm-layers", args.lstm_layers]
        return [__file__, "--train-lstm", data, "--out", run, "--minutes", args.minutes, *size]
    budget = ["--minutes", args.minutes, "--epochs", 1000, "--patience", 0, "--out", run]
    if method == "b":
        return ["-m", "continuo", "train", data, "--config", model, *budget]
    lr = ["--lr", args.finetune_lr] if args.finetune_lr else []
    return ["-m", "continuo", "train", data, "--init-from", args.init_from, *lr, *budget]


def timed(command: list) -> float:
    """Run ``python COMMAND`` with one thread; its wall time in seconds."""
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = Path(str(command[command.index("--out") + 1]) + ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        code = subprocess.run(
            [sys.executable, *map(str, command)], env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    if code:
        raise SystemExit(f"training failed ({code}); see {log}")
    return time.perf_counter() - started


def write_model_settings(init_from: str, work: Path) -> Path:
    """A TOML file with the model settings of ``init_from``, for (b): same model, random weights."""
    from continuo.training.checkpoint import find_checkpoint

    saved = json.loads((find_checkpoint(init_from) / "config.json").read_text())
    lines = ["[model]"] + [
        f"{key} = {json.dumps(value)}"
        for key, value in saved["model"].items()
        if key != "vocab_size" and value is not None
    ]
    work.mkdir(parents=True, exist_ok=True)
    (work / "model.toml").write_text("\n".join(lines) + "\n")
    return work / "model.toml"


# -- (a) the MIDI-LSTM seed's method ---------------------------------------------------------------
def chord_tokens(score) -> list[str]:
    """The seed's tokens: the sorted pitches starting on each eighth, rests dropped ("60.64")."""
    tpq = score.ticks_per_quarter
    onsets = collections.defaultdict(set)
    for track in score.tracks:
        for note in track.notes:
            onsets[(2 * note.time + tpq // 2) // tpq].add(note.pitch)
    return [".".join(map(str, sorted(onsets[step]))) for step in sorted(onsets)]


def tokens_to_score(tokens: list[str], tpq: int = 480):
    """Every token an eighth long, one after the other, as the seed writes its MIDI."""
    import symusic

    score = symusic.Score(tpq)
    score.tracks.append(symusic.Track("piano", 0, False))
    for step, token in enumerate(tokens):
        for pitch in token.split("."):
            score.tracks[0].notes.append(symusic.Note(step * tpq // 2, tpq // 2, int(pitch), 80))
    return score


def seed_lstm(vocab_size: int, size: int, layers: int):
    """The seed's network: stacked LSTMs, Dense(256), dropout 0.3, Dense(vocab)."""
    import torch
    from torch import nn

    class SeedLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, 128)
            self.lstm = nn.LSTM(128, size, num_layers=layers, dropout=0.3, batch_first=True)
            self.head = nn.Sequential(
                nn.Linear(size, 256), nn.Dropout(0.3), nn.Linear(256, vocab_size)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, WINDOW) -> (B, V)
            return self.head(self.lstm(self.embed(x))[0][:, -1])

    return SeedLSTM()


def windowed(pieces: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """All pieces in one array, each after WINDOW pads (id 0); and the index of every token."""
    stream, targets, length = [], [], 0
    for ids in pieces:
        stream += [np.zeros(WINDOW, np.int64), np.asarray(ids, np.int64)]
        targets.append(np.arange(length + WINDOW, length + WINDOW + len(ids)))
        length += WINDOW + len(ids)
    return np.concatenate(stream), np.concatenate(targets)


def train_lstm(args: argparse.Namespace) -> None:
    """(a), in its own process: train for ``--minutes`` and write weights and vocabulary."""
    import torch
    from safetensors.torch import save_file

    from continuo.data.dataset import TokenCorpus

    torch.manual_seed(0)
    corpus = TokenCorpus.open(args.train_lstm)
    pieces = [
        chord_tokens(corpus.codec.decode(corpus.piece_ids(p))) for p in corpus.pieces("train")
    ]
    counts = collections.Counter(token for piece in pieces for token in piece)
    vocab = [PAD, UNK, *sorted(t for t, n in counts.items() if n >= 2)]
    index = {token: i for i, token in enumerate(vocab)}
    stream, targets = windowed([[index.get(t, 1) for t in piece] for piece in pieces])
    model = seed_lstm(len(vocab), args.lstm_size, args.lstm_layers)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)  # the seed's optimiser
    offsets, steps, losses, rng = np.arange(-WINDOW, 0), 0, [], np.random.default_rng(0)
    print(f"(a) {len(vocab):,} tokens in the vocabulary, {len(targets):,} windows", flush=True)
    started = time.perf_counter()
    while time.perf_counter() - started < args.minutes * 60:
        batch = rng.choice(targets, 64)  # the seed's batch size
        x, y = torch.from_numpy(stream[batch[:, None] + offsets]), torch.from_numpy(stream[batch])
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps, losses = steps + 1, [*losses[-99:], loss.item()]
        if steps % 100 == 0:
            print(f"step {steps}: {np.mean(losses) / math.log(2):.3f} bits/token", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), args.out / "model.safetensors")
    primers = np.random.default_rng(1).choice(targets, 64)
    info = {
        "vocab": vocab, "size": args.lstm_size, "layers": args.lstm_layers, "steps": steps,
        "seconds": time.perf_counter() - started, "train_windows": len(targets),
        "train_bits_per_token": float(np.mean(losses)) / math.log(2),
        "primers": (stream[primers[:, None] + offsets]).tolist(),
    }  # fmt: skip
    (args.out / "lstm.json").write_text(json.dumps(info))


def load_lstm(run: Path) -> tuple:
    """(a)'s trained network (in eval mode), what its process wrote, and token -> id."""
    from safetensors.torch import load_file

    info = json.loads((run / "lstm.json").read_text())
    model = seed_lstm(len(info["vocab"]), info["size"], info["layers"])
    model.load_state_dict(load_file(run / "model.safetensors"))
    return model.eval(), info, {t: i for i, t in enumerate(info["vocab"])}


def lstm_bits_per_note(run: Path, pieces: list) -> dict:
    """(a)'s summed log-loss of the test pieces' tokens over the notes they carry."""
    import torch

    model, _, index = load_lstm(run)
    tokens = [chord_tokens(p) for p in pieces]
    stream, targets = windowed([[index.get(t, 1) for t in piece] for piece in tokens])
    flat = [t for piece in tokens for t in piece]
    spelling = [
        0.0 if t in index else math.log2(88) + math.log2(math.comb(88, t.count(".") + 1))
        for t in flat
    ]
    bits = []
    with torch.no_grad():
        for start in range(0, len(targets), 256):
            batch = targets[start : start + 256]
            x = torch.from_numpy(stream[batch[:, None] + np.arange(-WINDOW, 0)])
            log_p = torch.log_softmax(model(x), -1).gather(
                1, torch.from_numpy(stream[batch])[:, None]
            )
            bits += (-log_p[:, 0] / math.log(2)).tolist()
    notes = sum(t.count(".") + 1 for t in flat)
    total = sum(bits) + sum(spelling)
    return {
        "bits_per_note": total / notes, "notes": notes, "tokens": len(flat),
        "unseen_tokens": sum(s > 0 for s in spelling), "bits_per_token": total / len(flat),
    }  # fmt: skip


def lstm_pieces(run: Path, seeds: list, count: int) -> tuple[list, list]:
    """(a)'s pieces: ``count`` from random training windows, one continuation per seed; each
    ``PIECE_BARS`` bars of eighths written by argmax, the primer or seed left out."""
    import torch

    model, info, index = load_lstm(run)
    vocab = info["vocab"]
    primers = [np.asarray(p) for p in info["primers"][:count]]
    for seed in seeds:
        ids = [index.get(t, 1) for t in chord_tokens(seed)][-WINDOW:]
        primers.append(np.asarray([0] * (WINDOW - len(ids)) + ids))
    window = torch.from_numpy(np.stack(primers))
    written = []
    with torch.no_grad():
        for _ in range(int(PIECE_BARS * BAR * 2)):
            logits = model(window)
            logits[:, :2] = -math.inf  # never <pad> or <unk>
            token = logits.argmax(-1)
            written.append(token)
            window = torch.cat([window[:, 1:], token[:, None]], 1)
    rows = torch.stack(written, 1).tolist()
    scores = [tokens_to_score([vocab[i] for i in row]) for row in rows]
    return scores[:count], scores[count:]


# -- (b), (c) continuo -----------------------------------------------------------------------------
def continuo_bits_per_note(run: Path, data: Path, threads: int) -> dict:
    """``continuo evaluate``'s figures for the test split, named as (a)'s are."""
    result = json.loads(
        continuo("evaluate", run, data, "--split", "test", "--json", threads=threads)
    )
    return {
        "bits_per_note": result["sequence_bits_per_note"], "notes": result["sequence_notes"],
        "tokens": result["tokens"], "bits_per_token": result["bits_per_token"],
    }  # fmt: skip


def continuo_pieces(run: Path, seeds: list, count: int, args) -> tuple[list, list]:
    """``count`` pieces from nothing and one continuation per seed, each PIECE_BARS bars."""
    from continuo.generation import Generator

    generator = Generator.from_pretrained(str(run))
    top_p = None if args.top_p >= 1.0 else args.top_p
    sampling = {"temperature": args.temperature, "top_p": top_p, "bars": PIECE_BARS}
    span = PIECE_BARS * BAR
    free = generator.generate(num_outputs=count, rng_seed=args.seed, **sampling)
    scratch = [cut(out.score, 0, span) for out in free]
    continued = []
    for number, seed in enumerate(seeds):
        [out] = generator.generate_continuation(seed, rng_seed=args.seed + number, **sampling)
        start = out.seed_end / out.score.ticks_per_quarter
        continued.append(cut(out.score, start, start + span))
    return scratch, continued


# -- report sections -------------------------------------------------------------------------------
def statistics(generated: list, reference: list) -> dict:
    """Means and overlap areas of the chosen statistics, generated against reference."""
    from continuo.evaluation.distributions import compare_sets
    from continuo.evaluation.stats import METRICS

    chosen = {name: METRICS[name] for name in STATISTICS}
    return compare_sets(generated, reference, chosen).to_dict()["metrics"]


def continuity(pairs: list[tuple]) -> dict[str, float | None]:
    """Each statistic's mean distance between the two scores of each pair (nan pairs skipped)."""
    from continuo.evaluation.stats import METRICS

    out = {}
    for name in STATISTICS:
        distances = [
            float(np.linalg.norm(np.asarray(METRICS[name](a)) - np.asarray(METRICS[name](b))))
            for a, b in pairs
        ]
        distances = [d for d in distances if not math.isnan(d)]
        out[name] = float(np.mean(distances)) if distances else None
    return out


def real_pairs(pieces: list) -> list[tuple]:
    """Consecutive 4-bar windows of real pieces: (bars 4k..4k+4, bars 4k+4..4k+8) for every k."""
    span = BAR * SEED_BARS
    return [
        (cut(p, start, start + span), cut(p, start + span, start + 2 * span))
        for p in pieces
        for start in np.arange(0, quarters(p) - 2 * span + 1e-9, span)
    ]


def evaluate_folder(name: str, folder: dict, runs: dict, args) -> dict:
    """Every report section for one folder's three runs."""
    import torch

    torch.set_num_threads(args.threads)
    pieces = held_out(folder["data"])
    reference = [cut(p, 0, PIECE_BARS * BAR) for p in pieces]
    seeds = pick_seeds(pieces, args.pieces - args.pieces // 2, np.random.default_rng(args.seed))
    listen = args.work / name / "pieces"  # every piece scored, as MIDI, to listen to
    save_midi(listen, "seed", seeds)
    methods = {}
    for method in METHODS:
        run = runs[name, method]["run"]
        if method == "a":
            bits = lstm_bits_per_note(run, pieces)
            scratch, continued = lstm_pieces(run, seeds, args.pieces // 2)
            info = json.loads((run / "lstm.json").read_text())
            trained = {k: v for k, v in info.items() if k not in ("vocab", "primers")}
            trained["vocab"] = len(info["vocab"])
        else:
            bits = continuo_bits_per_note(run, folder["data"], args.threads)
            scratch, continued = continuo_pieces(run, seeds, args.pieces // 2, args)
            config = json.loads((run / "best" / "config.json").read_text())
            settings = ("lr", "batch_size", "block_size", "warmup_steps")
            trained = {**config["metrics"], **{k: config["train"][k] for k in settings}}
        save_midi(listen, method, scratch + continued)
        methods[method] = {
            "likelihood": bits,
            "generated": len(scratch + continued),
            "without_notes": sum(p.note_num() == 0 for p in scratch + continued),
            "training": {"wall_seconds": runs[name, method]["wall_seconds"], **trained},
            "statistics": statistics(scratch + continued, reference),
            "continuity": continuity(
                [(s, cut(c, 0, BAR * SEED_BARS)) for s, c in zip(seeds, continued, strict=True)]
            ),
        }
    return {
        "source": folder["source"],
        "splits": folder["splits"],
        "trained_on": f"the {folder['splits']['train']} pieces of the train split"
        + (" (the songs the bundled model was pretrained on)" if name == "pop909" else ""),
        "scored_on": f"the {len(pieces)} pieces of the test split (generated pieces against "
        f"their first {PIECE_BARS} bars)",
        "methods": methods,
        "real_continuity": continuity(real_pairs(pieces)),
    }


def save_midi(folder: Path, stem: str, scores: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, score in enumerate(scores):
        score.dump_midi(str(folder / f"{stem}-{number:02d}.mid"))


def targets(folder: dict) -> dict[str, bool]:
    """Issue 11's targets for (c) on one folder; a figure that is missing fails its target."""
    m, real = folder["methods"], folder["real_continuity"]
    c = m["c"]["statistics"]
    scale = c["scale_consistency"]
    gap = _diff(scale["generated_mean"], scale["reference_mean"])
    bits = {x: m[x]["likelihood"]["bits_per_note"] for x in METHODS}
    return {
        "every overlap >= 0.8": all(_le(0.8, c[s]["overlap"]) for s in STATISTICS),
        "scale consistency within 0.03": _le(gap, 0.03),
        "seed continuity no worse than real": all(
            _le(m["c"]["continuity"][s], real[s]) for s in STATISTICS
        ),
        "bits/note below (a) and (b)": _le(bits["c"], bits["a"]) and _le(bits["c"], bits["b"]),
        "every overlap above (a) and (b)": all(
            _le(m[x]["statistics"][s]["overlap"], c[s]["overlap"])
            for x in ("a", "b")
            for s in STATISTICS
        ),
    }


def _le(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and a <= b


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else abs(a - b)


# -- markdown --------------------------------------------------------------------------------------
def markdown(summary: dict) -> str:
    """The section for ``RESULTS-polyphony.md``: three tables per folder, then the targets."""
    lines = ["## The bundled piano model (issue 11)", ""]
    for name, folder in summary["folders"].items():
        lines += [
            f"**{name}** ({folder['source']}): every method trained for {summary['minutes']:g} "
            f"minutes on {folder['trained_on']}; scored on {folder['scored_on']}.",
            "",
            *_overlap_table(folder["methods"]),
            "",
            *_means_table(folder["methods"]),
            "",
            *_continuity_table(folder),
            "",
        ]
    folders = list(summary["targets"])
    rows = [
        [target, *("yes" if summary["targets"][f][target] else "**no**" for f in folders)]
        for target in TARGETS
    ]
    return "\n".join(lines + _table(["target for (c)", *folders], rows))


def _overlap_table(methods: dict) -> list[str]:
    header = ["method", "bits/note", "no notes", *(f"OA {s}" for s in STATISTICS)]
    rows = [
        [
            f"({m}) {METHODS[m]}",
            _number(r["likelihood"]["bits_per_note"]),
            f"{r['without_notes']}/{r['generated']}",
            *(_number(r["statistics"][s]["overlap"]) for s in STATISTICS),
        ]
        for m, r in methods.items()
    ]
    return _table(header, rows)


def _means_table(methods: dict) -> list[str]:
    scalars = [s for s in STATISTICS if "histogram" not in s]
    reference = methods["c"]["statistics"]
    rows = [["test pieces", *(_number(reference[s]["reference_mean"]) for s in scalars)]]
    rows += [
        [f"({m})", *(_number(r["statistics"][s]["generated_mean"]) for s in scalars)]
        for m, r in methods.items()
    ]
    return _table(["mean", *scalars], rows)


def _continuity_table(folder: dict) -> list[str]:
    rows = [
        [
            s,
            *(_number(folder["methods"][m]["continuity"][s]) for m in METHODS),
            _number(folder["real_continuity"][s]),
        ]
        for s in STATISTICS
    ]
    return _table(["seed continuity (mean distance)", "(a)", "(b)", "(c)", "real"], rows)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *map(_row, rows)]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per method")
    parser.add_argument("--init-from", default="piano", help="the model (c) fine-tunes")
    parser.add_argument("--finetune-lr", type=float, help="(c): default continuo train's")
    parser.add_argument(
        "--folders", nargs="+", default=["pop909", "bach"], choices=["pop909", "bach"]
    )
    parser.add_argument("--bach-limit", type=int, help="only the first N chorales")
    parser.add_argument("--temperature", type=float, default=1.0, help="continuo's sampling")
    parser.add_argument("--top-p", type=float, default=0.95, help="continuo's; 1: no nucleus")
    parser.add_argument("--pieces", type=int, default=20, help="generated per method and folder")
    parser.add_argument("--lstm-size", type=int, default=256, help="(a): the seed has 512")
    parser.add_argument("--lstm-layers", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=2, help="trainings at a time")
    parser.add_argument("--threads", type=int, default=2, help="for scoring and generating")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "piano-quality")
    parser.add_argument("--reuse", action="store_true", help="keep runs finished before")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--train-lstm", type=Path, help=argparse.SUPPRESS)  # (a)'s own process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_lstm:
        return train_lstm(args)

    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return round(clock[-1] - clock[-2])

    folders = prepare_folders(args)
    seconds = {"prepare": lap()}
    runs = train_all(folders, args)
    seconds["train"] = lap()
    results = {}
    for name, folder in folders.items():
        results[name] = evaluate_folder(name, folder, runs, args)
        seconds[f"evaluate {name}"] = lap()
    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end; {args.parallel} trainings at a time, each with "
        f"OMP_NUM_THREADS=1; scoring and generating with {args.threads} threads",
        "minutes": args.minutes,
        "init_from": args.init_from,
        "wall_seconds": seconds,
        "folders": results,
        "targets": {name: targets(folder) for name, folder in results.items()},
    }
    print(json.dumps(summary, indent=2, default=str))
    if args.markdown:
        print(markdown(summary))


if __name__ == "__main__":
    main()
