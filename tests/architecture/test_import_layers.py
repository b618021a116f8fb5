"""The layers of docs/architecture.md, checked by import-linter as CI checks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_of_the_package(tmp_path: Path) -> Path:
    for name in ("vae_exp", "hydra_plugins"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.fixture(scope="module")
def linter() -> str:
    if LINT_IMPORTS is None:
        pytest.fail("lint-imports is missing: install the dev extra (pip install -e '.[dev]')")
    return LINT_IMPORTS


def test_the_package_keeps_its_layers(linter, tmp_path):
    result = _lint_imports(_copy_of_the_package(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "back_import", "named"),
    [
        # The foundation reaching up into the pipeline.
        ("vae_exp/foundation/errors.py", "import vae_exp.pipeline.plan", "vae_exp.foundation"),
        # A model reaching into the run bookkeeping, only for type checking.
        (
            "vae_exp/models/vae.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import vae_exp.runs.record",
            "vae_exp.models",
        ),
        # Two rooms of one layer importing each other.
        ("vae_exp/data/datasets.py", "import vae_exp.loggers.viewing", "vae_exp.data"),
    ],
)
def test_an_import_back_up_the_layers_fails(linter, tmp_path, module, back_import, named):
    tree = _copy_of_the_package(tmp_path)
    path = tree / module
    text = path.read_text()
    head, _, rest = text.partition("from __future__ import annotations\n")
    path.write_text(f"{head}from __future__ import annotations\n{back_import}\n{rest}")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert f"{named} is not allowed to import" in result.stdout


def test_a_circle_inside_a_room_fails(linter, tmp_path):
    tree = _copy_of_the_package(tmp_path)
    path = tree / "vae_exp/models/losses.py"
    path.write_text(path.read_text() + "\nimport vae_exp.models.likelihoods  # noqa: E402\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in vae_exp.models" in result.stdout
