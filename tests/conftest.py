"""Shared fixtures: paths to ../shared/data (skipped cleanly when absent) and small made scores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CONTINUO_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or a clean skip of the calling test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared/data is read in place, never copied)")
    return path


@pytest.fixture
def essen_kinder() -> Path:
    """The 213 Essen `deutschl/kinder` kern files."""
    return shared_path("essen_kern", "deutschl", "kinder")


@pytest.fixture
def jsb_dir() -> Path:
    return shared_path("jsb_chorales")


@pytest.fixture
def audio_dir() -> Path:
    return shared_path("audio")
