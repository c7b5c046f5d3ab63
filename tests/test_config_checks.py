"""Configuration is checked before any work: soft-merged overrides, validated parameters, declared generator paths,
a usable MLflow store, per-environment data roots (docs/reliability.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io.core import DatasetError
from pydantic import BaseModel, ConfigDict, Field

from dark_halo_scope.datasets import ReaderDataset
from dark_halo_scope.hooks import tracking_store_problem
from dark_halo_scope.settings import CONFIG_LOADER_ARGS
from dark_halo_scope.validation import ParameterError, check, validate_parameters

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Grid:
    nx: int = 64
    anisotropic: bool = True


@dataclass(frozen=True)
class Run:
    cohort: Literal["Q1", "FULL"] = "Q1"
    limit: int = 0
    grid3d: Grid = field(default_factory=Grid)

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"limit must be >= 0, got {self.limit}")


class Train(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(default=5, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    factors: list[float] = Field(default=[0.3], min_length=1)


REGISTRY = {"rs_ilg.run": Run, "train": Train}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rs_ilg": {"run": {"gird3d": {}}}}, "rs_ilg.run.gird3d: unknown key; allowed keys: cohort, grid3d, limit"),
        ({"rs_ilg": {"run": {"grid3d": {"nx": "64x"}}}}, "rs_ilg.run.grid3d.nx: Input should be a valid integer"),
        ({"rs_ilg": {"run": {"grid3d": {"nz": 3}}}}, "rs_ilg.run.grid3d.nz: unknown key; allowed keys: anisotropic, nx"),
        ({"rs_ilg": {"run": {"limit": -3}}}, "rs_ilg.run: Value error, limit must be >= 0, got -3"),
        ({"rs_ilg": {"run": {"cohort": "Q9"}}}, "rs_ilg.run.cohort: Input should be 'Q1' or 'FULL'"),
        ({"train": {"epochs": 0}}, "train.epochs: Input should be greater than or equal to 1"),
        ({"train": {"lr": -0.1}}, "train.lr: Input should be greater than 0"),
        ({"train": {"factors": []}}, "train.factors: List should have at least 1 item"),
        ({"trian": {}}, "trian: unknown parameter section; known sections: project, rs_ilg, train"),
    ],
)
def test_bad_parameters_name_the_full_key(params: dict, message: str) -> None:
    with pytest.raises(ParameterError) as info:
        validate_parameters(params, REGISTRY, read_sections={"project"})
    assert message in str(info.value)


def test_good_parameters_and_callable_validators_pass() -> None:
    validate_parameters({"rs_ilg": {"run": {"grid3d": {"nx": 32}}}, "train": {"epochs": 2}}, REGISTRY, read_sections=())

    def positive(value: int) -> None:
        if value <= 0:
            raise ValueError("must be positive")

    assert check(positive, 3, "a.b") == []
    assert check(positive, -1, "a.b") == ["a.b: must be positive"]


def test_nested_override_in_local_merges(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "local").mkdir()
    (tmp_path / "base" / "parameters.yml").write_text("rs_ilg:\n  run: {cohort: Q1, limit: 0}\n  compat: {mode: {name: compat}}\n")
    (tmp_path / "local" / "parameters.yml").write_text("rs_ilg:\n  run: {limit: 3}\n")
    params = OmegaConfigLoader(str(tmp_path), **CONFIG_LOADER_ARGS)["parameters"]
    assert params["rs_ilg"] == {"run": {"cohort": "Q1", "limit": 3}, "compat": {"mode": {"name": "compat"}}}


def test_each_environment_has_its_own_data_root() -> None:
    roots = {}
    for env in ("local", "real"):
        loader = OmegaConfigLoader(str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
        roots[env] = loader["globals"]["data_root"]
        for name, entry in loader["catalog"].items():
            for spec in (entry, entry.get("dataset") if isinstance(entry.get("dataset"), dict) else {}):
                path = str(spec.get("filepath") or spec.get("path") or "")
                if path.startswith("data/") and not entry.get("reader"):  # outputs; raw inputs may be read anywhere
                    assert path.startswith(roots[env] + "/"), f"{env}: '{name}' writes {path} outside {roots[env]}"
    assert roots == {"local": "data", "real": "data/real"}


def test_generator_writes_only_the_declared_path(tmp_path: Path) -> None:
    declared = tmp_path / "01_raw" / "mock"
    args = {"reader": "pathlib:Path", "generator": "os:makedirs", "generates": str(declared)}
    typo = ReaderDataset(filepath=str(tmp_path / "01_raw" / "mokc"), **args)
    assert not typo.exists()
    with pytest.raises(DatasetError, match=r"mokc' does not exist; its generator writes only to '.*mock'"):
        typo.load()
    assert not (tmp_path / "01_raw" / "mokc").exists()
    assert ReaderDataset(filepath=str(declared), **args).load() == declared and declared.is_dir()
    with pytest.raises(DatasetError, match="needs 'generates"):
        ReaderDataset(filepath=str(declared), reader="pathlib:Path", generator="os:makedirs")


def test_unusable_tracking_store_is_named(tmp_path: Path) -> None:
    assert tracking_store_problem(f"sqlite:///{tmp_path}/ok/mlflow.db", tmp_path) is None
    (tmp_path / "afile").write_text("x")
    assert "is not a folder" in tracking_store_problem(f"sqlite:///{tmp_path}/afile/mlflow.db", tmp_path)
    (tmp_path / "bad.db").write_bytes(b"not a database" * 200)
    assert "cannot be opened as a SQLite database" in tracking_store_problem(f"sqlite:///{tmp_path}/bad.db", tmp_path)
    assert tracking_store_problem("http://mlflow.example:5000", tmp_path) is None


def test_project_parameters_validate() -> None:
    """conf/base's parameters pass the project's registry (every pipeline module's ``PARAMETERS``)."""
    from dark_halo_scope.pipeline_registry import register_pipelines
    from dark_halo_scope.validation import collect_registry, read_sections

    params = OmegaConfigLoader(str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "base"})["parameters"]
    validate_parameters(params, collect_registry(), read_sections(register_pipelines()))
