"""The ``structure`` extender: replay the recording's own beats along a path of seamless jumps.

analysis (beats, features) -> jump graph -> path of the requested duration -> spliced waveform.
Nothing is synthesised: every output sample is a source sample, except inside the short crossfades
at the splices and the fade of a fade ending.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tqdm.auto import tqdm

from continuo.audio.analysis import analyze_beats
from continuo.audio.extension import (
    Extension,
    Splice,
    check_duration,
    check_input,
    fit_length,
    is_silent,
)
from continuo.audio.graph import GraphConfig, build_jump_graph
from continuo.audio.planner import PlanConfig, plan_path
from continuo.audio.splice import SpliceConfig, fade_out, render_segments
from continuo.errors import ConfigError
from continuo.io.audio import Audio, to_mono

__all__ = ["MAX_STRUCTURE_INPUT_S", "StructureConfig", "extend_structure"]

#: The longest input analysed: its beat-to-beat matrices grow with the square of the beats.
MAX_STRUCTURE_INPUT_S = 20 * 60.0


@dataclass(frozen=True)
class StructureConfig:
    """All knobs of the structure extender, grouped by stage."""

    graph: GraphConfig = field(default_factory=GraphConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)
    splice: SpliceConfig = field(default_factory=SpliceConfig)


def extend_structure(
    audio: Audio,
    duration: float,
    config: StructureConfig = StructureConfig(),
    *,
    name: str = "input",
    progress: bool | None = None,
) -> Extension:
    """Extend (or shorten) ``audio`` to exactly ``duration`` seconds, keeping rate and channels.

    The output starts with the start of ``audio`` and ends with its own ending, or with a fade when
    no path through the recording lands on the ending within half a beat of ``duration``.
    ``progress``: show a tqdm bar (None: only on a terminal).
    """
    duration = check_duration(duration)
    check_input(audio, name)
    if audio.duration > MAX_STRUCTURE_INPUT_S:
        raise ConfigError(
            f"{name}: {audio.duration / 60:.0f} min of audio is more than the structure method "
            f"analyses ({MAX_STRUCTURE_INPUT_S / 60:.0f} min); cut it first"
        )
    sr = audio.sample_rate
    target = round(duration * sr)
    samples = audio.samples
    with tqdm(total=4, desc="extend", unit="step", disable=_disable(progress), leave=False) as bar:
        if target == audio.n_samples:
            bar.update(4)
            return Extension(samples.copy(), sr, [], "original", "structure", audio.duration)
        bar.set_postfix_str("beats")
        analysis = analyze_beats(to_mono(samples), sr)
        bar.update(1)
        bar.set_postfix_str("jumps")
        graph = build_jump_graph(analysis, config.graph)
        bar.update(1)
        bar.set_postfix_str("path")
        plan = plan_path(analysis, graph, target, config.plan)
        bar.update(1)
        bar.set_postfix_str("render")
        out, rendered = render_segments(samples, plan.segments, sr, config.splice)
        out = fit_length(out, target, sr)
        if plan.ending == "fade":
            fade_out(out, int(min(config.plan.fade_s * sr, 0.5 * target)))
        bar.update(1)
    splices = [
        Splice(s.output / sr, s.source_from / sr, s.source_to / sr, cost)
        for s, cost in zip(rendered, plan.jump_costs, strict=True)
        if s.output < target
    ]
    details = {
        "tempo": round(analysis.tempo, 2),
        "beats": analysis.n_beats,
        "beats_tracked": analysis.tracked,
        "jumps_considered": graph.n_jumps,
        "path_cost": round(plan.cost, 4),
        "silent_input": is_silent(samples),
    }
    return Extension(out, sr, splices, plan.ending, "structure", audio.duration, details)


def _disable(progress: bool | None) -> bool | None:
    return None if progress is None else not progress
