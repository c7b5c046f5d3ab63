"""The installed distribution matches the source tree and brings its declared siblings."""

import importlib
import tomllib
from importlib.metadata import requires
from pathlib import Path

import dhs_gates


def test_version_and_declared_dependencies_import() -> None:
    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert dhs_gates.__version__ == meta["version"]
    declared = {r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requires("dhs-gates") or []}
    assert {"dhs-inject", "dhs-train"} <= declared and "torch" not in declared
    importlib.import_module("dhs_inject")
