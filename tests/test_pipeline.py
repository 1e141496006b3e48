"""The pipeline of dvc.yaml, run by DVC at toy size (params-tiny.yaml), so that it cannot rot:
every stage's command runs, and the bundled models and benchmark tables come out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, shared_path

pytestmark = pytest.mark.slow


def test_dvc_repro_with_the_tiny_params_builds_models_and_tables(tmp_path: Path) -> None:
    data = shared_path()  # ../shared/data, or a clean skip where it is absent
    dvc = Path(sys.executable).with_name("dvc")
    assert dvc.is_file(), "dvc is a dev dependency (pip install -e .[dev])"
    folder = tmp_path / "pipeline"
    folder.mkdir()
    shutil.copy(REPO_ROOT / "dvc.yaml", folder / "dvc.yaml")
    shutil.copy(REPO_ROOT / "params-tiny.yaml", folder / "params.yaml")
    (folder / "repo").symlink_to(REPO_ROOT)
    (folder / "data").symlink_to(data)
    env = {
        **os.environ,
        "PATH": f"{dvc.parent}{os.pathsep}{os.environ['PATH']}",  # continuo, python, dvc
        "OMP_NUM_THREADS": "1",
        "DVC_NO_ANALYTICS": "1",
        "HOME": str(tmp_path),  # DVC's global config and site cache stay in the test
    }

    def run(*args: str) -> str:
        result = subprocess.run(
            [str(dvc), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    run("init", "--no-scm", "-q")
    run("repro")
    for name in ("folk", "piano"):
        model = folder / "pretrained" / name
        assert (model / "model.safetensors").is_file()
        config = json.loads((model / "config.json").read_text())
        assert config["evaluation"]["test"]["tokens"] > 0
        assert (model / "MODEL_CARD.md").read_text().startswith(f"# `{name}`")
    assert "| fine-tuned |" in (folder / "build" / "tables" / "idyom_kinder.md").read_text()
    assert (folder / "build" / "tables" / "piano_quality.md").read_text().strip()
    lock = yaml.safe_load((folder / "dvc.lock").read_text())
    stages = set(lock["stages"])
    assert {"prepare@folk", "train@piano", "export@folk", "idyom-kinder", "piano-quality"} <= stages
    assert "didn't change" in run("repro")  # up to date: nothing runs again
