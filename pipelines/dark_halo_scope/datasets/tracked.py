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
    """

    def __init__(self, *, filepath: str, prefix: str | None = None, run_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self._prefix = prefix
        self._run_name = run_name

    def _read(self, buffer: Any) -> dict[str, Any]:
        return json.loads(buffer.getvalue().decode())

    def _write(self, data: Any, buffer: Any) -> None:
        if not isinstance(data, Mapping) or not isinstance(data.get("metrics"), Mapping):
            raise DatasetError("TrackedMetricsDataset.save expects {'metrics': {name: number}, 'params': {...}}")
        metrics = {k: (float(v) if v is not None and math.isfinite(float(v)) else None) for k, v in data["metrics"].items()}
        payload = {"metrics": metrics, "params": dict(data.get("params", {}))}
        buffer.write(json.dumps(payload, indent=2, sort_keys=True, default=str).encode())

    def save(self, data: Any) -> None:
        super().save(data)
        self._log(self.load())

    def _log(self, payload: dict[str, Any]) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        named = {(f"{self._prefix}.{k}" if self._prefix else k): v for k, v in payload["metrics"].items() if v is not None}
        if self._run_name is None:
            mlflow.log_metrics(named)
            return
        with mlflow.start_run(run_name=self._run_name, nested=True):
            mlflow.set_tag("variant", self._run_name)
            mlflow.log_params({k: str(v)[:250] for k, v in flatten(payload["params"]).items()})
            mlflow.log_metrics(named)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "prefix": self._prefix, "run_name": self._run_name}


__all__ = ["TrackedMetricsDataset", "flatten"]
