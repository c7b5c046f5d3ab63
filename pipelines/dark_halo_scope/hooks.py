"""Provenance for every MLflow run: the git commit and a content hash of each input dataset.

kedro-mlflow (registered through its entry point) opens the run in ``before_pipeline_run``, logs
``params:*`` and ends the run as FINISHED or FAILED. This hook adds what it does not log:

- tags ``git_commit`` and ``git_dirty`` (the working tree's state when the run started);
- a param ``input_sha256.<dataset>`` for every file-backed dataset that is a free input of the
  pipeline or sits in the ``raw`` layer, hashed when it is first loaded (after any generation).
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from .datasets.reader import content_sha256

log = logging.getLogger(__name__)


def git_state(cwd: Path) -> tuple[str, bool]:
    """Return ``(commit, dirty)`` for the repository at ``cwd`` (``("unknown", False)`` outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return commit, bool(status.strip())


def dataset_path(dataset: Any) -> Path | None:
    """The local file or folder behind a dataset, if it has one."""
    described = dataset._describe() if hasattr(dataset, "_describe") else {}
    raw = described.get("filepath") or described.get("path") or getattr(dataset, "_filepath", None)
    if raw is None:
        return None
    path = Path(str(raw))
    return path if path.exists() else None


class ProvenanceHook:
    """Adds git state and input-data hashes to the active MLflow run."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._to_hash: set[str] = set()
        self._hashed: set[str] = set()

    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        import mlflow

        self._catalog = catalog
        self._hashed.clear()
        raw_layer = set()
        for name in pipeline.datasets():
            try:
                metadata = getattr(catalog.get(name), "metadata", None) or {}
            except Exception:  # noqa: BLE001 - factory patterns without a match are not inputs
                continue
            if (metadata.get("kedro-viz") or {}).get("layer") == "raw":
                raw_layer.add(name)
        self._to_hash = {n for n in pipeline.inputs() if not n.startswith("params:") and n != "parameters"} | raw_layer
        if mlflow.active_run() is None:
            return
        commit, dirty = git_state(Path(run_params.get("project_path") or Path.cwd()))
        mlflow.set_tags({"git_commit": commit, "git_dirty": str(dirty).lower()})

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Any) -> None:
        import mlflow

        if dataset_name not in self._to_hash or dataset_name in self._hashed or mlflow.active_run() is None:
            return
        self._hashed.add(dataset_name)
        path = dataset_path(self._catalog.get(dataset_name))
        if path is not None:
            mlflow.log_param(f"input_sha256.{dataset_name}", content_sha256(path))
