"""Shared fixtures: paths to ../shared/data (skipped cleanly when absent) and small made scores."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.fixtures import write_melody_midis

# pytest-xdist runs one worker per core: a second torch/BLAS thread each would only contend.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# numba's guvectorize cache is not safe when two processes compile the same function at once
# (numba/numba#10128; librosa's beat tracker then segfaults on the mixed files for good): each
# test process (each pytest-xdist worker) gets a cache folder of its own, set before anything
# imports numba. Workers inherit the controller's environment, hence the owner check; a
# NUMBA_CACHE_DIR set before pytest started is left alone.
_OWNER = "CONTINUO_TESTS_NUMBA_OWNER"
_ours_or_unset = _OWNER in os.environ or "NUMBA_CACHE_DIR" not in os.environ
if _ours_or_unset and os.environ.get(_OWNER) != str(os.getpid()):
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="continuo-tests-numba-")
    os.environ[_OWNER] = str(os.getpid())
    atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], ignore_errors=True)

#: The S3 server fixtures (``s3``), for every test module that asks for them.
pytest_plugins = ["tests.s3_fixtures"]

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


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the parse cache of the tests out of the user's ~/.cache."""
    os.environ["CONTINUO_CACHE"] = str(tmp_path_factory.mktemp("continuo-cache"))


@pytest.fixture(scope="session")
def melody_midi_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_melody_midis(tmp_path_factory.mktemp("melodies") / "melodies")


@pytest.fixture(scope="session")
def melody_dataset(tmp_path_factory: pytest.TempPathFactory, melody_midi_dir: Path) -> Path:
    """A prepared melody dataset of the synthetic melodies (valid and test splits non-empty)."""
    from continuo.codecs import get_codec
    from continuo.data.build import prepare_corpus

    out = tmp_path_factory.mktemp("datasets") / "melodies"
    prepare_corpus(
        [str(melody_midi_dir)],
        get_codec("melody"),
        out,
        jobs=1,
        cache_dir=None,
        valid_fraction=0.2,
        test_fraction=0.2,
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def melody_run(tmp_path_factory: pytest.TempPathFactory, melody_dataset: Path) -> Path:
    """A tiny transformer trained for two epochs on the synthetic melodies (a run folder)."""
    from continuo.data.dataset import TokenCorpus
    from continuo.models import model_config
    from continuo.training.config import TrainConfig
    from continuo.training.trainer import Trainer

    corpus = TokenCorpus.open(melody_dataset)
    run = tmp_path_factory.mktemp("runs") / "melody"
    config = model_config("transformer", "debug", vocab_size=corpus.codec.vocab_size)
    train = TrainConfig(epochs=2, batch_size=8, warmup_steps=5, lr=1e-2)
    Trainer(corpus, config, train, run, progress=False).fit()
    return run
