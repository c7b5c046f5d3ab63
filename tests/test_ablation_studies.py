"""The ablation studies (pipeline ``ablations``): the common table format, their parameters, and a reduced run."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from dark_halo_scope.pipeline_registry import register_pipelines
from dark_halo_scope.pipelines.ablation_studies import STUDIES
from dark_halo_scope.pipelines.ablation_studies.common import ROOT, format_table, run_id, to_markdown, variant_names
from dark_halo_scope.pipelines.ablation_studies.params import validate
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
    validate(base)
    validate(full)
    assert base["size"] == "embedded" and full["size"] == "full"
    for name in STUDIES:
        assert set(base[name]) == {"study", *variant_names(ROOT, name)}, name
    bad = copy.deepcopy(base)
    bad["mitigation"]["baseline"]["overrides"]["data"]["hard_negative_ratio"] = 0.4  # DataConfig: hard_negative_prob
    with pytest.raises(ValueError, match="hard_negative_ratio"):
        validate(bad)
    bad = copy.deepcopy(base)
    bad["centre_masked"]["r14"] = {"overrides": {"radius": 14}}  # a new variant is validated as one
    with pytest.raises(ValueError, match=r"centre_masked\.r14\.overrides\.radius"):
        validate(bad)


def test_ablations_runs_every_study_one_namespace_each() -> None:
    namespaces = {n.namespace for n in register_pipelines()["ablations"].nodes if n.namespace}
    for name in STUDIES:
        assert f"ablation_studies.{name}" in namespaces
        assert {f"ablation_studies.{name}.{v}" for v in variant_names(ROOT, name)} <= namespaces


#: ``conf/<ENV>`` of the project copy: variants added in YAML only (rs-ilg, glens, centre-masked) and reduced sizes
#: (its own data root, so the default's outputs stay apart).
ENV = "variant_test"
VARIANT_ENV = {
    "globals.yml": "data_root: data/variant_test\n",
    "parameters_ablations.yml": "ablations:\n  gext_strong:\n    overrides: {grid3d: {gext_ratio: 0.2}}\n",
    "parameters_ablation_studies.yml": """\
ablation_studies:
  glens_channels:
    study:
      experiment: {n_train: 4, n_val: 2, n_test: 4, epochs: 1}
    hard:
      overrides:
        lens: {theta_E_sub_factor: 0.1, psf_sigma: 1.0, flux_noise_sigma: 0.1, vel_noise_sigma: 0.05}
  centre_masked:
    r6:
      overrides: {radius_pix: 6}
""",
    "parameters_rs_ilg.yml": "rs_ilg:\n  run:\n    limit: 4\n    grid3d: {nx: 16}\n",
}
#: The studies the reduced run executes (the dhs studies need a stamp store and a trained model: too slow here;
#: the full ``ablations`` run of tests/test_pipelines_e2e.py runs them).
RUN = {"rs_ilg_3d": "rs_ilg.compat,rs_ilg.corrected,ablations", "glens_channels": "glens,ablation_studies.glens_channels"}


def test_a_variant_added_in_yaml_only_runs_with_its_row_and_mlflow_run(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Variants added in ``conf/<ENV>`` only get their nodes (``--env``/``KEDRO_ENV``, not the default env); a
    reduced run of the rs-ilg and glens studies writes a row and a nested MLflow run for every variant."""
    folder = project.path / "conf" / ENV
    folder.mkdir(exist_ok=True)
    for name, text in VARIANT_ENV.items():
        (folder / name).write_text(text)
    monkeypatch.chdir(project.path)
    monkeypatch.setenv("KEDRO_ENV", ENV)
    variants = {"rs_ilg_3d": variant_names("ablations"), "glens_channels": variant_names(ROOT, "glens_channels")}
    added = {"ablations.gext_strong.metrics", "ablation_studies.glens_channels.hard.run",
             "ablation_studies.centre_masked.r6.run"}
    assert added <= {n.name for n in register_pipelines()["ablations"].nodes}
    monkeypatch.delenv("KEDRO_ENV")
    assert not added & {n.name for n in register_pipelines()["ablations"].nodes}
    assert "gext_strong" in variants["rs_ilg_3d"] and "hard" in variants["glens_channels"]

    project.kedro("run", "--pipelines", "ablations", "--env", ENV, "--namespaces", ",".join(RUN.values()))
    reporting = project.path / "data" / ENV / "08_reporting" / "ablations"
    for study, names in variants.items():
        table = pd.read_csv(reporting / f"{study}.csv", keep_default_na=False)
        assert list(table.columns[:2]) == ["study", "variant"] and table["study"].eq(study).all()
        assert set(table["variant"]) == set(names), study
        assert table["run_id"].str.fullmatch(rf"{study}\.[a-z0-9_]+\.embedded\.[0-9a-f]{{8}}").all(), study
        assert table.groupby("variant")["run_id"].nunique().eq(1).all() and table["run_id"].nunique() == len(names)
        assert (reporting / f"{study}.md").read_text().startswith("## ") and (reporting / f"{study}.png").is_file()
    rs = pd.read_csv(reporting / "rs_ilg_3d.csv", keep_default_na=False).set_index(["variant", "mode"])
    assert rs.loc[("baseline", "compat"), "verdict"] == "reference"
    assert rs.loc[("k1_null", "compat"), "median_ilg (seed)"] == "4.146"  # seed 000, beside ours
    assert rs.loc[("gext_strong", "corrected"), "max_abs_delta_vs_baseline"] > 0  # the added variant acts
    glens = pd.read_csv(reporting / "glens_channels.csv", keep_default_na=False)
    assert sorted(zip(glens["variant"], glens["channel"], strict=True)) == sorted(
        (v, c) for v in variants["glens_channels"] for c in ("flux", "vel", "both"))
    assert glens.loc[glens["variant"] == "easy", "test_accuracy (seed)"].ne("").all()

    parent = project.mlflow_runs()[0]
    assert parent["status"] == "FINISHED" and parent["tags"]["pipeline"] == "ablations"
    children = {r["tags"]["mlflow.runName"]: r for r in project.mlflow_runs(nested=True)
                if r["tags"]["mlflow.parentRunId"] == parent["run_id"]}
    expected = {f"ablations.{v} [embedded]" for v in variants["rs_ilg_3d"]}
    expected |= {f"ablation_studies.glens_channels.{v} [embedded]" for v in variants["glens_channels"]}
    assert set(children) == expected
    for child in children.values():
        assert child["status"] == "FINISHED" and child["params"]["size"] == "embedded" and child["metrics"]
    assert children["ablation_studies.glens_channels.hard [embedded]"]["params"]["experiment.n_train"] == "4"
    assert "corrected.median_ilg" in children["ablations.gext_strong [embedded]"]["metrics"]
