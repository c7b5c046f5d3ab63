"""Tracking does not lie: a metric key logged twice with different values is an error, never an overwrite."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from kedro.io.core import DatasetError

from dark_halo_scope.datasets import TrackedMetricsDataset


def test_colliding_metric_keys_are_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    headline = TrackedMetricsDataset(filepath=str(tmp_path / "experiment.json"), prefix="glens")
    sweep = TrackedMetricsDataset(filepath=str(tmp_path / "sweep.json"), prefix="glens")
    try:
        with mlflow.start_run() as run:
            headline.save({"metrics": {"subhalo_detection.both.accuracy": 0.910}})
            headline.save({"metrics": {"subhalo_detection.both.accuracy": 0.910}})  # the same value again: fine
            with pytest.raises(DatasetError, match=r"\['glens.subhalo_detection.both.accuracy'\] from '.*sweep.json'"):
                sweep.save({"metrics": {"subhalo_detection.both.accuracy": 0.615}})
        assert not (tmp_path / "sweep.json").exists()
        logged = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
        assert logged == {"glens.subhalo_detection.both.accuracy": 0.910}
    finally:
        mlflow.set_tracking_uri("")
