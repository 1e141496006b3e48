"""Progress output: a live bar on a terminal, plain lines every few seconds anywhere else."""

from __future__ import annotations

import io

from continuo.progress import progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_whole_lines_not_carriage_returns() -> None:
    stream = io.StringIO()
    with progress_bar(total=5, desc="work", unit="step", stream=stream, line_seconds=0) as bar:
        for _ in range(5):
            bar.update()
    text = stream.getvalue()
    assert "\r" not in text and text.endswith("\n")
    assert all(line.startswith("work:") for line in text.splitlines())
    assert "5/5" in text.splitlines()[-1]


def test_a_quick_job_in_a_pipe_prints_nothing() -> None:
    stream = io.StringIO()
    with progress_bar(total=5, desc="work", unit="step", stream=stream, line_seconds=60) as bar:
        bar.update(5)
    assert stream.getvalue() == ""


def test_a_terminal_gets_a_live_bar_and_disabled_means_silent() -> None:
    terminal = _Terminal()
    with progress_bar(total=3, desc="work", unit="step", stream=terminal) as bar:
        bar.update(3)
    assert "\r" in terminal.getvalue() and "3/3" in terminal.getvalue()
    quiet = _Terminal()
    with progress_bar(total=3, desc="work", unit="step", stream=quiet, enabled=False) as bar:
        bar.update(3)
    assert quiet.getvalue() == ""
