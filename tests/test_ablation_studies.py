"""The ablation studies (pipeline ``ablations``): the common table format, their parameters, and a reduced run."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from pydantic import ValidationError

from dark_halo_scope.pipeline_registry import register_pipelines
from dark_halo_scope.pipelines.ablation_studies import STUDIES
from dark_halo_scope.pipelines.ablation_studies.common import format_table, run_id, to_markdown
from dark_halo_scope.pipelines.ablation_studies.params import AblationStudiesParams
from dark_halo_scope.settings import CONFIG_LOADER_ARGS

from .conftest import REPO, Project


def _params(env: str = "local") -> dict:
    conf = OmegaConfigLoader(str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
    return conf["parameters"]["ablation_studies"]


def test_format_table_puts_the_seed_beside_ours_and_names_the_document() -> None:
    rows = [{"variant": "a", "channel": "x", "n": 3, "run_id": "s.a", "m1": 0.5, "m2": 1.0, "verdict": "PASS"},
            {"variant": "b", "channel": "x", "n": 4, "run_id": "s.b", "m1": 0.7, "m2": 2.0, "verdict": "FAIL"}]
    seed = {("b", "x"): {"m1": "0.95 ± 0.02", "verdict": "FAIL"}}
    table = format_table("s", rows, keys=("channel",), info=("n",), metrics=("m1", "m2"), seed=seed,
                         seed_document="003.txt")
    assert list(table.columns) == ["study", "variant", "channel", "n", "run_id", "m1", "m1 (seed)", "m2", "verdict",
                                   "verdict (seed)", "seed_document"]
    assert table["m1 (seed)"].tolist() == ["", "0.95 ± 0.02"]
    assert table["seed_document"].tolist() == ["", "003.txt"]
    md = to_markdown(table, "S", "note")
    assert md.splitlines()[2].startswith("| study | variant | channel |") and "| 0.95 ± 0.02 |" in md
    with pytest.raises(ValueError, match="lack column"):
        format_table("s", [{"variant": "a"}], metrics=("m1",))


def test_run_ids_differ_by_variant_size_and_settings() -> None:
    ids = {run_id("s", v, size, {"k": k}) for v in ("a", "b") for size in ("embedded", "full") for k in (1, 2)}
    assert len(ids) == 8


def test_every_registered_variant_has_parameters_and_bad_overrides_are_refused() -> None:
    base, full = _params(), _params("full")
    AblationStudiesParams(**base)
    AblationStudiesParams(**full)
    assert base["size"] == "embedded" and full["size"] == "full"
    for name, module in STUDIES.items():
        assert set(base[name]) == {"study", *module.VARIANTS}, name
    bad = copy.deepcopy(base)
    bad["mitigation"]["baseline"]["overrides"]["data"]["hard_negative_ratio"] = 0.4  # DataConfig: hard_negative_prob
    with pytest.raises(ValidationError, match="hard_negative_ratio"):
        AblationStudiesParams(**bad)


def test_ablations_runs_every_study_one_namespace_each() -> None:
    namespaces = {n.namespace for n in register_pipelines()["ablations"].nodes if n.namespace}
    for name, module in STUDIES.items():
        assert f"ablation_studies.{name}" in namespaces
        assert {f"ablation_studies.{name}.{v}" for v in module.VARIANTS} <= namespaces


def test_reduced_glens_study_writes_every_row_and_mlflow_run(project: Project) -> None:
    """``--namespaces`` runs one study (and the glens nodes that make its input); ``--params`` shrinks it."""
    small = "ablation_studies.glens_channels.study.experiment"
    project.kedro("run", "--pipeline", "ablations", "--namespaces", "glens,ablation_studies.glens_channels",
                  "--params", f"{small}.n_train=4,{small}.n_val=2,{small}.n_test=4,{small}.epochs=1")
    variants = STUDIES["glens_channels"].VARIANTS
    table = pd.read_csv(project.path / "data/08_reporting/ablations/glens_channels.csv", keep_default_na=False)
    assert sorted(zip(table["variant"], table["channel"], strict=True)) == sorted(
        (v, c) for v in variants for c in ("flux", "vel", "both"))
    assert table["run_id"].str.fullmatch(r"glens_channels\.(easy|moderate)\.embedded\.[0-9a-f]{8}").all()
    assert table.groupby("variant")["run_id"].nunique().eq(1).all() and table["run_id"].nunique() == len(variants)
    assert table.loc[table["variant"] == "easy", "test_accuracy (seed)"].ne("").all()
    assert (project.path / "data/08_reporting/ablations/glens_channels.md").read_text().startswith("## glens channel")
    parent = project.mlflow_runs()[0]
    assert parent["status"] == "FINISHED" and parent["tags"]["pipeline"] == "ablations"
    children = {r["tags"]["mlflow.runName"]: r for r in project.mlflow_runs(nested=True)
                if r["tags"]["mlflow.parentRunId"] == parent["run_id"]}
    assert sorted(children) == sorted(f"ablation_studies.glens_channels.{v} [embedded]" for v in variants)
    for child in children.values():
        assert child["status"] == "FINISHED" and child["params"]["experiment.n_train"] == "4"
        assert {f"{c}.test_accuracy" for c in ("flux", "vel", "both")} <= set(child["metrics"])
