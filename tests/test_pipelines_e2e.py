"""Every registered pipeline runs on the embedded default; its outputs are catalogued files; MLflow records it."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from dark_halo_scope.pipeline_registry import register_pipelines
from dark_halo_scope.settings import CONFIG_LOADER_ARGS

from .conftest import Project

PIPELINES = register_pipelines()
# __default__ last: it reruns everything the others made.
NAMES = sorted(n for n in PIPELINES if n != "__default__") + ["__default__"]


def catalog_for(project: Project, env: str = "local") -> DataCatalog:
    conf = OmegaConfigLoader(str(project.path / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
    return DataCatalog.from_config(conf["catalog"])


@pytest.mark.parametrize("name", NAMES)
def test_pipeline_runs_and_is_tracked(project: Project, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = PIPELINES[name]
    before = project.files_outside_data()
    project.kedro("run", "--pipelines", name)
    assert project.files_outside_data() == before, "the run wrote files outside data/ and the MLflow store"

    monkeypatch.chdir(project.path)
    catalog = catalog_for(project)
    artifacts: list[tuple[str, str]] = []
    for output in sorted(pipeline.outputs() | {o for n in pipeline.nodes for o in n.outputs}):
        dataset = catalog.get(output)
        assert dataset is not None, f"output '{output}' of pipeline '{name}' is not in the catalog"
        assert dataset.exists(), f"catalog entry '{output}' was not written by pipeline '{name}'"
        if hasattr(dataset, "artifact_path"):  # kedro-mlflow's MlflowArtifactDataset
            artifacts.append((dataset.artifact_path, Path(str(dataset._filepath)).name))

    run = project.mlflow_runs()[0]
    assert run["status"] == "FINISHED"
    assert run["tags"]["pipeline"] == name and run["tags"]["mlflow.runName"].startswith(f"{name} [local] ")
    for folder, filename in artifacts:
        assert (Path(run["artifact_uri"].removeprefix("file://")) / folder / filename).is_file(), (folder, filename)
    assert run["tags"]["git_commit"] == project.head()
    param_inputs = {i.removeprefix("params:") for n in pipeline.nodes for i in n.inputs if i.startswith("params:")}
    values = OmegaConfigLoader(str(project.path / "conf"), **CONFIG_LOADER_ARGS)["parameters"]
    for param in param_inputs:
        value = values
        for part in param.split("."):
            value = value[part]
        if value in ({}, []):
            continue  # an empty mapping has no leaf to log
        assert any(k == param or k.startswith(param + ".") for k in run["params"]), f"param '{param}' not logged"
    hashed = {k.removeprefix("input_sha256.") for k in run["params"] if k.startswith("input_sha256.")}
    free_inputs = {i for i in pipeline.inputs() if not i.startswith("params:") and i != "parameters"}
    for free in free_inputs:
        if getattr(catalog.get(free), "_filepath", None) is not None:
            assert free in hashed, f"input '{free}' has no content hash in the MLflow run"
    if name == "ablations":
        from dark_halo_scope.pipelines.ablation_studies.common import variant_names

        children = [r for r in project.mlflow_runs(nested=True) if r["tags"]["mlflow.parentRunId"] == run["run_id"]
                    and r["tags"]["mlflow.runName"].startswith("ablations.")]  # the rs-ilg kernel study's variants
        assert sorted(r["tags"]["mlflow.runName"] for r in children) == sorted(f"ablations.{v} [embedded]"
                                                                               for v in variant_names("ablations"))
        assert all(r["status"] == "FINISHED" and "corrected.median_ilg" in r["metrics"] for r in children)
        import pandas as pd

        study = pd.read_csv(project.path / "data/08_reporting/ablations/rs_ilg_3d.csv").set_index(["mode", "variant"])
        for mode in ("compat", "corrected"):  # K = 1 is the Newtonian baseline, point for point
            assert study.loc[(mode, "k1_null"), "median_ilg"] == pytest.approx(study.loc[(mode, "k1_null"), "median_newton"])
        # the original's quirks make g_ext and the features inert in compat; corrected makes them act
        assert study.loc[("compat", "permute_features"), "max_abs_delta_vs_baseline"] == 0.0
        assert study.loc[("corrected", "gext0"), "max_abs_delta_vs_baseline"] > 1e-4
        assert study.loc[("compat", "gext0"), "max_abs_delta_vs_baseline"] < 1e-8


def test_failed_run_is_recorded_as_failed(project: Project) -> None:
    broken = project.path / "conf" / "broken"
    broken.mkdir(exist_ok=True)
    (broken / "catalog.yml").write_text(
        "dhs_inject.manifest:\n  type: pandas.ParquetDataset\n  filepath: /proc/dhs_forbidden/manifest.parquet\n"
    )
    proc = project.kedro("run", "--pipelines", "dhs_inject", "--env", "broken", check=False)
    assert proc.returncode != 0
    assert "UnboundLocalError" not in proc.stdout + proc.stderr  # the real error is the last traceback
    run = project.mlflow_runs()[0]
    assert run["tags"]["pipeline"] == "dhs_inject"
    assert run["status"] == "FAILED"


def test_registry_lists_every_pipeline(project: Project) -> None:
    out = project.kedro("registry", "list").stdout
    for name in ["rs_ilg", "glens", "dhs_inject", "dhs_train", "dhs_gates", "ablations", "__default__"]:
        assert f"- {name}" in out


def test_real_environment_only_changes_paths() -> None:
    """conf/real overrides catalog entries with the same types, and sets nothing but paths/readers."""
    root = Path(__file__).resolve().parents[1] / "conf"
    base = OmegaConfigLoader(str(root), **{**CONFIG_LOADER_ARGS, "default_run_env": "base"})["catalog"]
    real = OmegaConfigLoader(str(root), **{**CONFIG_LOADER_ARGS, "default_run_env": "real"})["catalog"]
    changed = {k for k in real if real[k] != base.get(k)}
    for key in changed:
        assert key in base, f"conf/real adds '{key}', which conf/base lacks"
        assert real[key]["type"] == base[key]["type"], f"conf/real changes the type of '{key}'"
        extra = {f for f in set(real[key]) | set(base[key]) if real[key].get(f) != base[key].get(f)}
        assert extra <= {"filepath", "path", "generator", "generates", "generator_args", "load_args", "dataset"}, (key, extra)


def test_rs_ilg_on_real_sparc_reproduces_documented_medians(project: Project) -> None:
    """``--env real`` switches to the 175 SPARC galaxies by configuration alone; compat reproduces the
    original's cohort and baselines (spec §1: 156 galaxies, MOND median 1.794, Newtonian 3.912)."""
    import pandas as pd

    from .conftest import SHARED

    if not (SHARED / "data" / "sparc" / "Rotmod_LTG").is_dir():
        pytest.skip(f"SPARC data not found under {SHARED}")
    project.kedro("run", "--pipelines", "rs_ilg", "--env", "real")
    summary = pd.read_csv(project.path / "data" / "real" / "08_reporting" / "rs_ilg" / "summary.csv").set_index(["mode", "run"])
    row = summary.loc[("compat", "1d_time")]
    assert row["n_galaxies"] == 156
    assert row["median_mond"] == pytest.approx(1.794, abs=5e-4)
    assert row["median_newton"] == pytest.approx(3.912, abs=5e-4)
    assert summary.loc[("corrected", "1d_time"), "n_galaxies"] == 98  # SPARC Q=1 with >= 7 points past the mask
    run = project.mlflow_runs()[0]
    assert run["status"] == "FINISHED" and "input_sha256.sparc_release" in run["params"]
