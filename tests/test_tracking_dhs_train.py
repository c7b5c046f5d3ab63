"""The dhs_train run logs each epoch's history (losses, AUROC, gate values) to its MLflow run, one point per epoch.

Reuses the session's project copy: a run that trained (``dhs_train``, ``dhs_gates`` or ``__default__``, e.g. from
``test_pipelines_e2e``) is read as it is; only when none exists yet is ``kedro run --pipelines dhs_train`` run here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from dark_halo_scope.settings import CONFIG_LOADER_ARGS

from .conftest import Project

PREFIX = "dhs_train.epoch."


def _runs_with_epochs(project: Project) -> list[dict]:
    if not (project.path / "mlflow.db").is_file():  # nothing has run in this session's copy yet
        return []
    return [r for r in project.mlflow_runs() if r["status"] == "FINISHED" and any(k.startswith(PREFIX) for k in r["metrics"])]


def _trained_run(project: Project) -> dict:
    runs = _runs_with_epochs(project)
    if not runs:
        project.kedro("run", "--pipelines", "dhs_train")
        runs = _runs_with_epochs(project)
    assert runs, f"no MLflow run holds a '{PREFIX}*' metric after kedro run --pipelines dhs_train"
    return runs[0]


def test_each_epoch_is_logged_to_mlflow_with_its_step(project: Project) -> None:
    from mlflow import MlflowClient

    run = _trained_run(project)
    artifacts = Path(run["artifact_uri"].removeprefix("file://")) / "dhs_train"
    history = pd.read_csv(artifacts / "history.csv")  # the history this run saved (an MLflow artefact)
    client = MlflowClient(tracking_uri=f"sqlite:///{project.path / 'mlflow.db'}")

    def points(column: str) -> tuple[list[int], list[float]]:
        found = sorted((m.step, m.value) for m in client.get_metric_history(run["run_id"], PREFIX + column))
        return [s for s, _ in found], [v for _, v in found]

    for column in ("train_loss", "val_loss", "val_auroc"):
        steps, values = points(column)
        assert steps == history["epoch"].tolist(), column  # one point per epoch, step = epoch
        np.testing.assert_allclose(values, history[column], rtol=1e-6, err_msg=column)

    params = OmegaConfigLoader(str(project.path / "conf"), **CONFIG_LOADER_ARGS)["parameters"]["dhs_train"]
    every, last = params["train"]["gate_every"], int(history["epoch"].max())
    assert every > 0, "the embedded default evaluates gates during training"
    gated = [e for e in history["epoch"] if (e + 1) % every == 0 or e == last]
    for gate in params["gates"]["gates"]:
        steps, values = points(f"gate_{gate}")
        assert steps == gated, gate  # evaluated every gate_every epochs and at the last
        np.testing.assert_allclose(values, history.set_index("epoch").loc[gated, f"gate_{gate}"], rtol=1e-6)
        assert set(points(f"gate_{gate}_passed")[1]) <= {0.0, 1.0}

    # the report node's final metrics (dhs_train.<name>) never share a key with the per-epoch ones
    final = {k for k in run["metrics"] if k.startswith("dhs_train.") and not k.startswith(PREFIX)}
    assert final and "dhs_train.best_val_auroc" in final
    assert run["metrics"]["dhs_train.best_val_auroc"] == pytest.approx(history["val_auroc"].max())
