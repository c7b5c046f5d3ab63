"""Metrics (and, for ablation variants, parameters) written to a JSON file and logged to MLflow."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from kedro.io.core import DatasetError

from ._file import FileDataset


def flatten(tree: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name, sep))
        else:
            flat[name] = value
    return flat


class TrackedMetricsDataset(FileDataset):
    """``{"metrics": {name: number}, "params": {...}}`` as JSON, and in MLflow when a run is active.

    Metrics are logged with ``prefix.`` to the active run. With ``run_name`` they go, with the params, to a
    *nested* run of that name under the active run instead: this is how each ablation variant becomes its own
    MLflow run inside the one ``kedro run``. Non-finite metrics are kept in the JSON (as null) and not logged.
    A metric key already logged in the run with another value is an error (:func:`refuse_collisions`).

    kedro-mlflow's ``MlflowMetricsHistoryDataset`` was considered and not used: it logs a dict of metrics to the active
    run (or a given ``run_id``) and loads them back from MLflow, but writes no file (the metrics would exist only in
    the tracking store, not under ``data/`` with the other results), opens no nested run per ablation variant and
    logs a changed value over an old one without an error.
    """

    def __init__(self, *, filepath: str, prefix: str | None = None, run_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self._prefix = prefix
        self._run_name = run_name

    def _read(self, buffer: Any) -> dict[str, Any]:
        return json.loads(buffer.getvalue().decode())

    @staticmethod
    def _payload(data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping) or not isinstance(data.get("metrics"), Mapping):
            raise DatasetError("TrackedMetricsDataset.save expects {'metrics': {name: number}, 'params': {...}}")
        metrics = {k: (float(v) if v is not None and math.isfinite(float(v)) else None) for k, v in data["metrics"].items()}
        return {"metrics": metrics, "params": dict(data.get("params", {}))}

    def _write(self, data: Any, buffer: Any) -> None:
        buffer.write(json.dumps(self._payload(data), indent=2, sort_keys=True, default=str).encode())

    def _named(self, payload: Mapping[str, Any]) -> dict[str, float]:
        return {(f"{self._prefix}.{k}" if self._prefix else k): v for k, v in payload["metrics"].items() if v is not None}

    def save(self, data: Any) -> None:
        import mlflow

        payload = self._payload(data)
        if mlflow.active_run() is not None and self._run_name is None:
            refuse_collisions(self._named(payload), str(self._filepath))  # before the file is written
        super().save(data)
        self._log(self.load())

    def _log(self, payload: dict[str, Any]) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        named = self._named(payload)
        if self._run_name is None:
            mlflow.log_metrics(named)
            return
        with mlflow.start_run(run_name=self._run_name, nested=True):
            mlflow.set_tag("variant", self._run_name)
            mlflow.log_params({k: str(v)[:250] for k, v in flatten(payload["params"]).items()})
            mlflow.log_metrics(named)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "prefix": self._prefix, "run_name": self._run_name}


def refuse_collisions(metrics: Mapping[str, float], source: str) -> None:
    """Raise if the active MLflow run already holds one of ``metrics`` with another value (never overwrite silently).

    Two outputs keyed alike (e.g. a sweep's short runs and the headline experiment) would otherwise replace each
    other's values in the run; the error names the keys and the file that tried.
    """
    import mlflow

    logged = mlflow.MlflowClient().get_run(mlflow.active_run().info.run_id).data.metrics
    clashes = sorted(k for k, v in metrics.items() if k in logged and logged[k] != v)
    if clashes:
        raise DatasetError(
            f"metrics {clashes} from '{source}' are already logged in this MLflow run with other values: "
            "give each result its own key (e.g. the experiment or run name) instead of overwriting"
        )


__all__ = ["TrackedMetricsDataset", "flatten", "refuse_collisions"]
