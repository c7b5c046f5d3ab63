"""Each library installs alone with pip in an empty virtual environment, and its tests pass there without
Kedro or MLflow. One package per day in rotation (all five every five days); ``DHS_STANDALONE=all`` or
``DHS_STANDALONE=<name>[,<name>]`` picks explicitly."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["rs-ilg", "glens-sim", "dhs-inject", "dhs-train", "dhs-gates"]


def workspace_requirements(name: str) -> list[str]:
    """``name`` and the sibling workspace packages it needs, dependencies first."""
    meta = tomllib.loads((REPO / "packages" / name / "pyproject.toml").read_text())["project"]
    siblings = [d for d in meta["dependencies"] if d in PACKAGES]
    ordered: list[str] = []
    for sibling in siblings:
        for dep in workspace_requirements(sibling):
            if dep not in ordered:
                ordered.append(dep)
    return [*ordered, name]


def chosen() -> list[str]:
    value = os.environ.get("DHS_STANDALONE", "")
    if value == "all":
        return PACKAGES
    if value:
        return [v.strip() for v in value.split(",")]
    return [PACKAGES[dt.date.today().toordinal() % len(PACKAGES)]]


def test_dependency_closure_is_resolved_from_pyprojects() -> None:
    assert workspace_requirements("rs-ilg") == ["rs-ilg"]
    assert workspace_requirements("dhs-train") == ["glens-sim", "dhs-inject", "dhs-train"]


@pytest.mark.slow
@pytest.mark.parametrize("name", chosen())
def test_package_installs_alone_and_its_tests_pass(name: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    targets = [str(REPO / "packages" / p) for p in workspace_requirements(name)]
    targets[-1] += "[test]"
    install = subprocess.run([py, "-m", "pip", "install", "-q", *targets], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-4000:]
    for forbidden in ("kedro", "mlflow"):
        probe = subprocess.run([py, "-c", f"import {forbidden}"], capture_output=True)
        assert probe.returncode != 0, f"{forbidden} got installed with {name}"
    module = name.replace("-", "_")
    where = subprocess.run([py, "-c", f"import {module}; print({module}.__file__)"], capture_output=True, text=True, check=True)
    assert str(venv) in where.stdout, f"{module} imported from outside the venv: {where.stdout}"
    tests = subprocess.run(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", str(REPO / "packages" / name / "tests")],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert tests.returncode == 0, tests.stdout[-6000:]
