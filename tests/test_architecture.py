"""The packages keep the layers ARCHITECTURE.md draws, and no package's modules import in a circle.

The contracts live in pyproject.toml (``[tool.importlinter]``); import-linter reads every import
statement, inside functions and under ``TYPE_CHECKING`` too. The last two tests plant a bad
import in a copy of the code and see the check refuse it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LINTER = PYPROJECT["tool"]["importlinter"]
LINT = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp: Path) -> Path:
    """The packages and the contracts, copied so a test can break them."""
    for package in LINTER["root_packages"]:
        shutil.copytree(ROOT / package, tmp / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _plant(module: Path, line: str) -> None:
    """Add an import inside a function, where import cycles like to hide."""
    with module.open("a", encoding="utf-8") as fh:
        fh.write(f"\n\ndef _planted() -> None:\n    {line}  # noqa\n")


def test_the_packages_keep_their_layers_and_have_no_cycles() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_has_a_layer() -> None:
    packages = {
        p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"
    }
    (layers,) = (c for c in LINTER["contracts"] if c["type"] == "layers")
    in_layers = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    assert packages == set(LINTER["root_packages"]) == in_layers
    installed = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert installed == packages - {"benchmarks"}


def test_an_import_of_a_higher_layer_is_refused(tmp_path: Path) -> None:
    where = _copy(tmp_path)
    _plant(where / "core" / "db.py", "import gateway.settings")

    result = _lint(where)

    assert result.returncode != 0
    assert "core.db -> gateway.settings" in result.stdout, result.stdout


def test_a_cycle_inside_a_package_is_refused(tmp_path: Path) -> None:
    where = _copy(tmp_path)
    # core.db imports core.private_files; the planted import closes the circle
    _plant(where / "core" / "private_files.py", "import core.db")

    result = _lint(where)

    assert result.returncode != 0
    assert "No cycles are allowed in core" in result.stdout, result.stdout
